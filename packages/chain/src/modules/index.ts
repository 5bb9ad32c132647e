import type { Module } from '../module.ts';
import { authModule } from './auth/module.ts';
import { bankModule } from './bank/module.ts';

/** The modules of an AIVM chain, in execution order of their hooks. */
export function defaultModules(): Module[] {
  return [authModule, bankModule];
}

export { authModule, bankModule };
