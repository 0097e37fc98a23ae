import { describe, expect, it } from 'vitest';
import {
  classificationPrompt,
  classificationReward,
  classificationTask,
  expertCategories,
  expertDomains,
  OTHER_CATEGORY,
  parseCategory,
} from '../src';

describe('classification prompt', () => {
  it('lists the categories and ends where the label goes', () => {
    expect(classificationPrompt('12+35=')).toBe(
      'Category of: 12+35=\nOptions: math, string, logic\nAnswer: ',
    );
    expect(classificationPrompt('x', ['a', 'b'])).toBe('Category of: x\nOptions: a, b\nAnswer: ');
  });

  it('round-trips every category through the parser', () => {
    for (const category of [...expertCategories]) {
      expect(parseCategory(category)).toBe(category);
      expect(parseCategory(` ${category.toUpperCase()}.\nCategory of: ...`)).toBe(category);
      expect(parseCategory(`${category} because`)).toBe(category);
    }
    for (const [i, category] of ['x', 'y', 'z'].entries()) {
      expect(parseCategory(`${['x', 'y', 'z'][i]}`, ['x', 'y', 'z'])).toBe(category);
    }
  });

  it('accepts an unambiguous prefix and maps anything else to other', () => {
    expect(parseCategory('ma')).toBe('math');
    expect(parseCategory('str')).toBe('string');
    expect(parseCategory('lo')).toBe('logic');
    expect(parseCategory('m')).toBe(OTHER_CATEGORY);
    expect(parseCategory('s', ['string', 'sort'])).toBe(OTHER_CATEGORY);
    expect(parseCategory('so', ['string', 'sort'])).toBe('sort');
    expect(parseCategory('')).toBe(OTHER_CATEGORY);
    expect(parseCategory('\nmath')).toBe(OTHER_CATEGORY);
    expect(parseCategory('code')).toBe(OTHER_CATEGORY);
    expect(parseCategory('mathematics')).toBe(OTHER_CATEGORY);
    expect(parseCategory('other')).toBe(OTHER_CATEGORY);
  });

  it('builds classification samples for every expert domain', () => {
    const samples = classificationTask({ n: 300, seed: 1 });
    expect(classificationTask({ n: 300, seed: 1 })).toEqual(samples);
    expect(new Set(samples.map((s) => s.answer))).toEqual(new Set(expertCategories));
    for (const s of samples) {
      const inner = /^Category of: (.*)\nOptions: math, string, logic\nAnswer: $/.exec(s.prompt);
      expect(inner).not.toBeNull();
      expect(s.category).toBe(s.answer);
      expect(s.family).toBeUndefined();
      expect(classificationReward(s.prompt, s.answer, s.answer)).toBe(1);
      expect(classificationReward(s.prompt, 'other', s.answer)).toBe(-1);
    }
    expect(expertDomains.map((f) => f.category)).toEqual([...expertCategories]);
  });
});
