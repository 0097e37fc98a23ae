import { families, sampleTask } from '@t2/tasks';
import type { App } from '../app';
import type { ChatStrategy, ChatTrace } from '../protocol';
import { clear, field, fmt, h, select } from './dom';

const STRATEGY_HELP: Record<ChatStrategy, string> = {
  prompt: 'pass 1 asks the base model for the category',
  classifier: 'pass 1 asks the classification expert',
  oracle: 'you name the category',
  none: 'the base model answers',
};

export interface ChatTurn {
  prompt: string;
  pass1: Omit<ChatTrace, 'timings'> | null;
  answer: string;
  trace: ChatTrace | null;
  error?: string;
}

/** Category and α bars, one per task expert. */
function decisionView(
  d: Omit<ChatTrace, 'timings'>,
  experts: { name: string; label: string }[],
): HTMLElement {
  const rows = experts.map(({ name, label }) => {
    const a = d.alpha?.[name] ?? 0;
    return h(
      'div',
      { class: 'alpha-row', dataset: { expert: name, alpha: String(a) } },
      h('span', { class: 'alpha-name' }, label === name ? name : `${name} (${label})`),
      h(
        'span',
        { class: 'alpha-track' },
        h('span', { class: 'alpha-bar', style: `width:${(100 * a).toFixed(1)}%` }),
      ),
      h('span', { class: 'alpha-value' }, fmt(a, 2)),
    );
  });
  return h(
    'div',
    { class: 'decision' },
    h(
      'div',
      { class: 'decision-head' },
      h('b', {}, 'Pass 1 '),
      `(${d.strategy}): `,
      d.alpha === null
        ? h(
            'span',
            { class: 'category', 'data-testid': 'category' },
            `${d.label ?? 'none'} → base model`,
          )
        : h('span', { class: 'category', 'data-testid': 'category' }, d.label ?? 'mixture'),
      d.pass1Output !== undefined
        ? h('span', { class: 'muted' }, ` — model wrote ${JSON.stringify(d.pass1Output)}`)
        : null,
    ),
    ...rows,
  );
}

/** View 1: chat with Transformer² (pass 1's decision, then the streamed answer). */
export function chatView(app: App): HTMLElement {
  const prompt = h('input', {
    type: 'text',
    placeholder: 'e.g. 25+39=',
    'data-testid': 'prompt',
    size: 28,
  });
  const strategy = select([], { 'data-testid': 'strategy' });
  const label = select([], { 'data-testid': 'oracle-label' });
  const maxTokens = h('input', {
    type: 'number',
    min: 1,
    max: 64,
    value: '16',
    style: 'width:4em',
  });
  const send = h('button', { type: 'submit', 'data-testid': 'send' }, 'Send');
  const examples = h('div', { class: 'examples' });
  const transcript = h('div', { class: 'transcript', 'data-testid': 'transcript' });
  const help = h('span', { class: 'muted' });
  const unavailable = h('p', { class: 'warn', hidden: true });
  let experts: { name: string; label: string }[] = [];
  const turns: ChatTurn[] = [];
  (window as unknown as { t2demo: { chat: ChatTurn[] } }).t2demo.chat = turns;

  const updateHelp = () => {
    help.textContent = STRATEGY_HELP[strategy.value as ChatStrategy] ?? '';
    label.hidden = strategy.value !== 'oracle';
  };
  strategy.onchange = updateHelp;

  let seed = 0;
  const refreshExamples = () => {
    clear(examples);
    examples.append(h('span', { class: 'muted' }, 'Try: '));
    seed++;
    for (const f of families) {
      const [s] = sampleTask(f, { n: 1, seed, split: 'test' });
      if (!s) continue;
      examples.append(
        h(
          'button',
          {
            type: 'button',
            class: 'chip',
            title: `${f.name} (${f.category}${f.heldOut ? ', held out' : ''}) — answer ${s.answer}`,
            onclick: () => {
              prompt.value = s.prompt;
              prompt.focus();
            },
          },
          s.prompt,
        ),
      );
    }
    examples.append(
      h('button', { type: 'button', class: 'chip ghost', onclick: refreshExamples }, '↻'),
    );
  };

  const form = h(
    'form',
    { class: 'row' },
    field('Prompt', prompt),
    field('Strategy', strategy),
    label,
    field('Max tokens', maxTokens),
    send,
    help,
  );
  form.onsubmit = async (e) => {
    e.preventDefault();
    const text = prompt.value;
    if (!text || !app.model) return;
    const turn: ChatTurn = { prompt: text, pass1: null, answer: '', trace: null };
    turns.push(turn);
    const decision = h(
      'div',
      { class: 'pass1', 'data-testid': 'pass1' },
      h('span', { class: 'muted' }, 'pass 1…'),
    );
    const answer = h('span', { class: 'answer', 'data-testid': 'answer' });
    const timings = h('div', { class: 'timings muted', 'data-testid': 'timings' });
    const el = h(
      'div',
      { class: 'turn' },
      h('div', { class: 'user' }, h('b', {}, 'You: '), h('code', {}, text)),
      decision,
      h('div', { class: 'bot' }, h('b', {}, 'Answer: '), h('code', {}, answer)),
      timings,
    );
    transcript.prepend(el);
    send.disabled = true;
    const off = app.client.on((ev) => {
      if (ev.event === 'pass1') {
        turn.pass1 = ev.trace;
        decision.replaceChildren(decisionView(ev.trace, experts));
      } else if (ev.event === 'token') {
        turn.answer += ev.text;
        answer.textContent = turn.answer;
      }
    });
    try {
      const { output, trace } = await app.client.request({
        type: 'chat',
        prompt: text,
        strategy: strategy.value as ChatStrategy,
        label: strategy.value === 'oracle' ? label.value : undefined,
        maxNewTokens: Number(maxTokens.value) || 8,
      });
      turn.answer = output;
      turn.trace = trace;
      answer.textContent = output || '(empty)';
      decision.replaceChildren(decisionView(trace, experts));
      const t = trace.timings;
      timings.textContent = `pass 1 ${fmt(t.pass1Ms, 0)} ms · compose ${fmt(t.composeMs, 0)} ms · pass 2 ${fmt(t.pass2Ms, 0)} ms · total ${fmt(t.totalMs, 0)} ms on ${app.backend?.active ?? '?'}`;
    } catch (err) {
      turn.error = (err as Error).message;
      decision.replaceChildren(h('span', { class: 'error' }, turn.error));
    } finally {
      off();
      send.disabled = false;
    }
  };

  app.onModel((m) => {
    const strategies = m?.strategies ?? [];
    strategy.replaceChildren(...strategies.map((s) => h('option', { value: s }, s)));
    experts = (m?.experts ?? []).filter((e) => e.role === 'task');
    label.replaceChildren(
      ...(m?.experts ?? [])
        .filter((e) => e.role === 'task')
        .map((e) => h('option', { value: e.label }, e.label)),
    );
    unavailable.hidden = !m?.chatUnavailable;
    unavailable.textContent = m?.chatUnavailable ?? '';
    send.disabled = !m || !!m.chatUnavailable;
    updateHelp();
  });
  refreshExamples();
  updateHelp();

  return h(
    'section',
    { class: 'view', 'data-view': 'chat' },
    h(
      'p',
      { class: 'lead' },
      'Type a prompt. Pass 1 picks experts (a category, shown as α per expert); pass 2 answers with the SVF experts mixed by α.',
    ),
    unavailable,
    form,
    examples,
    transcript,
  );
}
