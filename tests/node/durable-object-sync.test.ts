// The Durable Object's check-and-set is atomic only because no other request
// can run between its check and its set: the object is single-threaded and
// every such method is synchronous from its first read to its last write.
// An `await` (or a callback scheduled for later) in between would let other
// requests interleave, and a race test catches that only when the timing
// happens to line up. So this parses the object's source with the TypeScript
// compiler and checks the shape instead: nothing here depends on timing.
// `typescript/unstable/*` is TypeScript 7's preview API (it runs the bundled
// tsgo; typescript is pinned in package.json): if it moves, adapt this file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { API } from 'typescript/unstable/sync';
import { SyntaxKind, type MethodDeclaration, type Node } from 'typescript/unstable/ast';
import { isAwaitExpression, isCallExpression, isClassDeclaration, isMethodDeclaration, isNewExpression } from 'typescript/unstable/ast/is';
import { describe, expect, test } from 'vitest';

const FILE = fileURLToPath(new URL('../../adapters/cloudflare-durable-object/object.ts', import.meta.url));
// A one-file project (no imports resolved, no type checking): only the syntax tree is needed.
const CONFIG = `${FILE}.guard-tsconfig.json`;

/** Methods that read or write entries: synchronous, no Promise in their type, nothing scheduled for later. */
const SYNCHRONOUS = ['get', 'put', 'compareAndSet', 'delete', 'list', 'deleteExpired', '#see', '#live', '#write', '#scheduleAlarm', '#flush', '#applyBatch'];
/** `batch` only queues and schedules the group commit (`#flush`, synchronous); `alarm` is cleanup, off every check-and-set path. */
const DEFERRING = ['batch', 'alarm'];

/** The methods of `VaultDurableObject` in `source` (the object's file, or a changed copy), by name. */
function methodsOf(source: string): Map<string, MethodDeclaration> {
  const config = JSON.stringify({ files: [FILE], compilerOptions: { noResolve: true, types: [] } });
  const api = new API({
    cwd: process.cwd(),
    fs: {
      readFile: (name) => (name === CONFIG ? config : name === FILE ? source : undefined),
      fileExists: (name) => (name === CONFIG || name === FILE ? true : undefined),
    },
  });
  try {
    const file = api.updateSnapshot({ openProjects: [CONFIG] }).getProjects()[0]!.program.getSourceFile(FILE)!;
    const methods = new Map<string, MethodDeclaration>();
    const visit = (node: Node): void => {
      if (isClassDeclaration(node) && node.name?.text === 'VaultDurableObject') {
        for (const member of node.members) if (isMethodDeclaration(member)) methods.set(member.name.getText(), member);
      }
      node.forEachChild(visit);
    };
    visit(file);
    return methods;
  } finally {
    api.close();
  }
}

const isAsync = (node: Node): boolean => (node as { modifiers?: readonly Node[] }).modifiers?.some((modifier) => modifier.kind === SyntaxKind.AsyncKeyword) ?? false;

/** What in a method's body could split a check from its set. */
function deferrals(method: MethodDeclaration): string[] {
  const found: string[] = [];
  if (isAsync(method)) found.push('async');
  if (method.type && /\bPromise(Like)?\b/.test(method.type.getText())) found.push(`returns ${method.type.getText()}`);
  const visit = (node: Node): void => {
    if (isAwaitExpression(node)) found.push(`await ${node.expression.getText()}`);
    if (isAsync(node)) found.push('async callback');
    if (isNewExpression(node) && node.expression.getText() === 'Promise') found.push('new Promise');
    if (isCallExpression(node)) {
      const callee = node.expression.getText();
      if (/(^|\.)(then|setTimeout|setInterval|queueMicrotask|blockConcurrencyWhile)$/.test(callee)) found.push(`${callee}(...)`);
    }
    node.forEachChild(visit);
  };
  method.body?.forEachChild(visit);
  return found;
}

/** Whether the group commit decides its batches with `#applyBatch` inside one `transactionSync`. */
function calledInTransaction(flush: MethodDeclaration): boolean {
  let inside = false;
  const visit = (node: Node): void => {
    if (isCallExpression(node) && node.expression.getText().endsWith('transactionSync')) {
      inside ||= node.arguments.some((argument) => argument.getText().includes('this.#applyBatch('));
    }
    node.forEachChild(visit);
  };
  flush.body?.forEachChild(visit);
  return inside;
}

/** The guard itself, on any source text (so the test can show it fails). */
function violations(source: string): string[] {
  const methods = methodsOf(source);
  const problems: string[] = [];
  for (const name of methods.keys()) {
    if (!SYNCHRONOUS.includes(name) && !DEFERRING.includes(name)) problems.push(`${name}: a new method; classify it in this test (synchronous, or off every check-and-set path)`);
  }
  for (const name of SYNCHRONOUS) {
    const method = methods.get(name);
    if (!method) problems.push(`${name}: missing`);
    else for (const found of deferrals(method)) problems.push(`${name}: ${found}`);
  }
  const batch = methods.get('batch');
  if (batch) for (const found of deferrals(batch).filter((found) => !['returns Promise<BatchResult>', 'new Promise', 'setTimeout(...)'].includes(found))) problems.push(`batch: ${found}`);
  const flush = methods.get('#flush');
  if (flush && !calledInTransaction(flush)) problems.push('#flush: batches must be decided by #applyBatch inside one transactionSync');
  return problems;
}

describe('Durable Object: every check-and-set stays synchronous (no await between check and set)', () => {
  const source = readFileSync(FILE, 'utf8');

  test('the object as it is: no method that reads or writes entries can yield', () => {
    expect(violations(source)).toEqual([]);
  });

  test('the guard sees an await, an async method, a deferred callback and a batch decided outside its transaction', () => {
    const swap = (from: string, to: string): string => {
      expect(source).toContain(from);
      return source.replace(from, to);
    };
    const awaited = swap(
      '  compareAndSet(key: string, value: Uint8Array<ArrayBuffer>, condition: WriteCondition, expiresAt: number | null, now: number): string | null {\n    const current',
      '  async compareAndSet(key: string, value: Uint8Array<ArrayBuffer>, condition: WriteCondition, expiresAt: number | null, now: number): Promise<string | null> {\n    await this.ctx.storage.sync();\n    const current',
    );
    expect(violations(awaited)).toEqual(['compareAndSet: async', 'compareAndSet: returns Promise<string | null>', 'compareAndSet: await this.ctx.storage.sync()']);
    const deferred = swap('return conditionHolds(condition, current) ? this.#write(key, value, expiresAt) : null;', 'void Promise.resolve().then(() => conditionHolds(condition, current) && this.#write(key, value, expiresAt)); return null;');
    expect(violations(deferred)).toEqual(['compareAndSet: Promise.resolve().then(...)']);
    const outside = swap('results = this.ctx.storage.transactionSync(() => group.map((item) => this.#applyBatch(item.operations, item.now)));', 'results = group.map((item) => this.#applyBatch(item.operations, item.now));');
    expect(violations(outside)).toEqual(['#flush: batches must be decided by #applyBatch inside one transactionSync']);
    expect(violations(swap('  /** Deletes entries expired at `now`; returns how many. */', '  async sweep(): Promise<void> {}\n  /** Deletes entries expired at `now`; returns how many. */'))).toEqual([
      'sweep: a new method; classify it in this test (synchronous, or off every check-and-set path)',
    ]);
  });
});
