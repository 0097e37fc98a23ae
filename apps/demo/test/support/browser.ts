import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.T2_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set T2_CHROMIUM`;
}

const COMMON = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  // WebGL2 on SwiftShader, ANGLE's CPU renderer (there is no GPU here).
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** WebGPU through Dawn's SwiftShader (Vulkan on the CPU), on top of the WebGL2 flags. */
const WEBGPU = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
];

/** Headless Chromium with a fresh profile; `webgpu` adds an emulated WebGPU adapter. */
export function launchChromium(kind: 'webgl2' | 'webgpu'): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: kind === 'webgpu' ? [...COMMON, ...WEBGPU] : COMMON,
  });
}
