// The body of `function (host) { ... }`, run before guest code on every run: defines `Deno`
// (with only Deno.Command) and `child_process` (with only execFile).
// Built-ins used later are captured now, since guest code may replace globals afterwards.
// `host` never leaves this closure, so only these functions reach the plugin.
"use strict";
const TypeErrorConstructor = TypeError;
const Uint8ArrayConstructor = Uint8Array;
const ArrayBufferConstructor = ArrayBuffer;
const isArray = Array.isArray;
const isArrayBufferView = ArrayBuffer.isView;
const objectKeys = Object.keys;
const createObject = Object.create;
const stringify = JSON.stringify;
const encodeUTF8 = TextEncoder.prototype.encode.bind(new TextEncoder());
// Node's utf8 decoding keeps a byte order mark; TextDecoder drops it unless told not to.
const decodeUTF8 = TextDecoder.prototype.decode.bind(new TextDecoder("utf-8", { ignoreBOM: true }));

function describe(value) {
  if (typeof value === "string") return stringify(value);
  if (value === undefined || value === null) return `${value}`;
  if (isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

// Indexing a string cannot be intercepted, unlike String.prototype methods, which a heap
// persisted from an earlier run may carry replaced.
function contains(text, character) {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === character) return true;
  }
  return false;
}

// The plugin's JSON strings end at a NUL, so an argument with one would run something else.
function checkString(api, argument, value, mayBeEmpty) {
  if (typeof value !== "string" || (value === "" && !mayBeEmpty) || contains(value, "\0")) {
    throw new TypeErrorConstructor(
      `${api}: argument "${argument}" must be a ${mayBeEmpty ? "" : "non-empty "}string without NUL characters, ` +
      `got ${describe(value)}`);
  }
  return value;
}

function checkOptions(api, options) {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || isArray(options)) {
    throw new TypeErrorConstructor(`${api}: argument "options" must be an object, got ${describe(options)}`);
  }
  return options;
}

function checkArgs(api, argument, args) {
  if (args === undefined || args === null) return [];
  if (!isArray(args)) {
    throw new TypeErrorConstructor(`${api}: argument "${argument}" must be an array of strings, got ${describe(args)}`);
  }
  const checked = [];
  for (let i = 0; i < args.length; i++) checked[i] = checkString(api, `${argument}[${i}]`, args[i], true);
  return checked;
}

// The child's whole environment: nothing is inherited from the server.
function checkEnv(api, env) {
  const checked = createObject(null); // so that a variable called "__proto__" stays a variable
  if (env === undefined || env === null) return checked;
  if (typeof env !== "object" || isArray(env)) {
    throw new TypeErrorConstructor(
      `${api}: argument "options.env" must be an object whose values are strings, got ${describe(env)}`);
  }
  const names = objectKeys(env);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name === "" || contains(name, "=") || contains(name, "\0")) {
      throw new TypeErrorConstructor(
        `${api}: argument "options.env" has the variable name ${stringify(name)}; a name must be non-empty, ` +
        `without "=" or NUL characters`);
    }
    checked[name] = checkString(api, `options.env.${name}`, env[name], true);
  }
  return checked;
}

// What the child reads on its standard input; undefined for none (it reads /dev/null).
function checkInput(api, argument, value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return encodeUTF8(value);
  if (value instanceof ArrayBufferConstructor) return value;
  if (isArrayBufferView(value)) return new Uint8ArrayConstructor(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeErrorConstructor(
    `${api}: argument "${argument}" must be a string, a Uint8Array (or another typed array, a DataView or an ` +
    `ArrayBuffer), got ${describe(value)}`);
}

// The request for the plugin's "spawn" and the bytes for the child's stdin.
function prepare(api, commandArgument, command, args, argsArgument, options, inputOption) {
  const request = {
    command: checkString(api, commandArgument, command, false),
    args: checkArgs(api, argsArgument, args),
  };
  if (options.cwd !== undefined && options.cwd !== null) {
    request.cwd = checkString(api, "options.cwd", options.cwd, false);
  }
  request.env = checkEnv(api, options.env);
  const input = checkInput(api, `options.${inputOption}`, options[inputOption]);
  request.stdin = input !== undefined;
  return { request, input };
}

// Runs the child to its end: {code, signal, stdout, stderr} with the outputs as bytes.
async function spawn(prepared) {
  const { value, bytes } = await host.call("spawn", prepared.request, prepared.input);
  const both = bytes ?? new Uint8ArrayConstructor(0);
  const split = value.stdout_length;
  return {
    code: value.code,
    signal: value.signal,
    stdout: new Uint8ArrayConstructor(both.buffer, both.byteOffset, split),
    stderr: new Uint8ArrayConstructor(both.buffer, both.byteOffset + split, both.byteLength - split),
  };
}

class Command {
  #prepared;

  constructor(command, options) {
    const checked = checkOptions("Deno.Command", options);
    this.#prepared = prepare("Deno.Command", "command", command, checked.args, "options.args", checked, "stdin");
  }

  // Runs the command (again on every call) and resolves once it has ended.
  async output() {
    const result = await spawn(this.#prepared);
    return {
      code: result.code,
      success: result.code === 0 && result.signal === null,
      signal: result.signal,
      stdout: result.stdout,
      stderr: result.stderr,
    };
  }
}

const child_process = {
  // Resolves whatever the exit code (a child killed by a signal has code null and its signal);
  // rejects when the command cannot run.
  async execFile(file, args, options) {
    if (options === undefined && args !== null && typeof args === "object" && !isArray(args)) {
      options = args; // execFile(file, options), as Node allows
      args = undefined;
    }
    const checked = checkOptions("child_process.execFile", options);
    const result = await spawn(prepare("child_process.execFile", "file", file, args, "args", checked, "input"));
    return {
      stdout: decodeUTF8(result.stdout),
      stderr: decodeUTF8(result.stderr),
      code: result.signal === null ? result.code : null,
      signal: result.signal,
    };
  },
};

const Deno = { Command };

Object.defineProperty(globalThis, "Deno", { value: Deno, writable: true, configurable: true, enumerable: false });
Object.defineProperty(globalThis, "child_process",
  { value: child_process, writable: true, configurable: true, enumerable: false });
