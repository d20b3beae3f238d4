// The body of `function (host) { ... }`, run before guest code on every run: defines `fs`.
// Built-ins used later are captured now, since guest code may replace globals afterwards.
// `host` never leaves this closure, so only these methods reach the plugin.
"use strict";
const TypeErrorConstructor = TypeError;
const Uint8ArrayConstructor = Uint8Array;
const ArrayBufferConstructor = ArrayBuffer;
const isArrayBufferView = ArrayBuffer.isView;
const stringify = JSON.stringify;
const encodeUTF8 = TextEncoder.prototype.encode.bind(new TextEncoder());
// Node's utf8 reading keeps a byte order mark; TextDecoder drops it unless told not to.
const decodeUTF8 = TextDecoder.prototype.decode.bind(new TextDecoder("utf-8", { ignoreBOM: true }));

function describe(value) {
  if (typeof value === "string") return stringify(value);
  if (value === undefined || value === null) return `${value}`;
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

// Indexing a string cannot be intercepted, unlike String.prototype methods, which a heap
// persisted from an earlier run may carry replaced.
function containsNul(text) {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\0") return true;
  }
  return false;
}

// The plugin's JSON strings end at a NUL, so a path with one would name another file.
function checkPath(method, argument, value) {
  if (typeof value !== "string" || value === "" || containsNul(value)) {
    throw new TypeErrorConstructor(
      `fs.${method}: argument "${argument}" must be a non-empty string without NUL characters, got ${describe(value)}`);
  }
  return value;
}

function checkEncoding(options) {
  const encoding = options !== null && typeof options === "object" ? options.encoding : options;
  if (encoding === undefined || encoding === null || encoding === "utf8" || encoding === "utf-8") return "utf8";
  if (encoding === "buffer") return "buffer";
  throw new TypeErrorConstructor(
    `fs.readFile: encoding must be "utf8" (the default) or "buffer", got ${describe(encoding)}`);
}

function checkRecursive(method, options) {
  if (options === undefined || options === null) return false;
  if (typeof options !== "object") {
    throw new TypeErrorConstructor(
      `fs.${method}: argument "options" must be an object such as {recursive: true}, got ${describe(options)}`);
  }
  const recursive = options.recursive;
  if (recursive === undefined) return false;
  if (typeof recursive !== "boolean") {
    throw new TypeErrorConstructor(
      `fs.${method}: options.recursive must be true or false, got ${describe(recursive)}`);
  }
  return recursive;
}

function checkData(method, data) {
  if (typeof data === "string") return encodeUTF8(data);
  if (data instanceof ArrayBufferConstructor) return data;
  if (isArrayBufferView(data)) return new Uint8ArrayConstructor(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeErrorConstructor(
    `fs.${method}: argument "data" must be a string, an ArrayBuffer, a typed array or a DataView, got ${describe(data)}`);
}

async function callForValue(operation, request, bytes) {
  return (await host.call(operation, request, bytes)).value;
}

// Methods are async so that argument errors reject the promise like every other error.
const fs = {
  async readFile(path, options) {
    const request = { path: checkPath("readFile", "path", path), encoding: checkEncoding(options) };
    const contents = (await host.call("readFile", request)).bytes ?? new Uint8ArrayConstructor(0);
    return request.encoding === "utf8" ? decodeUTF8(contents) : contents;
  },
  async writeFile(path, data) {
    const request = { path: checkPath("writeFile", "path", path) };
    await callForValue("writeFile", request, checkData("writeFile", data));
  },
  async appendFile(path, data) {
    const request = { path: checkPath("appendFile", "path", path) };
    await callForValue("appendFile", request, checkData("appendFile", data));
  },
  async readdir(path) {
    return callForValue("readdir", { path: checkPath("readdir", "path", path) });
  },
  async stat(path) {
    return callForValue("stat", { path: checkPath("stat", "path", path) });
  },
  async mkdir(path, options) {
    const request = { path: checkPath("mkdir", "path", path), recursive: checkRecursive("mkdir", options) };
    await callForValue("mkdir", request);
  },
  async rm(path, options) {
    const request = { path: checkPath("rm", "path", path), recursive: checkRecursive("rm", options) };
    await callForValue("rm", request);
  },
  async rename(from, to) {
    const request = { path: checkPath("rename", "from", from), destination: checkPath("rename", "to", to) };
    await callForValue("rename", request);
  },
  async copyFile(from, to) {
    const request = { path: checkPath("copyFile", "from", from), destination: checkPath("copyFile", "to", to) };
    await callForValue("copyFile", request);
  },
  async exists(path) {
    return callForValue("exists", { path: checkPath("exists", "path", path) });
  },
};

Object.defineProperty(globalThis, "fs", { value: fs, writable: true, configurable: true, enumerable: false });
