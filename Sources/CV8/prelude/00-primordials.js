// The runtime prelude: evaluated once, while the runtime startup snapshot is built, so every
// context starts with it already in place. prelude/*.js, in file order, make one function expression.
//
// Contract with the C++ engine (Sources/CV8/runtime.cpp, run_loop.cpp):
//   The engine calls this function with (native, global, lean) and keeps the returned `internals`
//   object in the snapshot (SnapshotCreator::AddData), out of the guest's reach. `lean` is true
//   for the context new stateful heaps start from (see installWhenUsed), false for stateless runs.
//   native (C++ callbacks, never exposed on the global object):
//     print(level, text)        write console text; level: 0 log, 1 info, 2 warn, 3 error, 4 debug.
//                               The engine splits text into lines.
//     now()                     monotonic milliseconds (double) since the run started
//     structuredClone(value)    deep copy with V8's ValueSerializer; throws a DataCloneError
//     isProxy(value)            true for a Proxy
//     proxyTarget(proxy)        the target of a Proxy, without running its traps
//     promiseState(promise)     [state, value]: 0 pending, 1 fulfilled, 2 rejected
//     utf8Encode(string)        Uint8Array of UTF-8 (lone surrogates become U+FFFD)
//     utf8Decode(uint8array)    string (invalid sequences become U+FFFD)
//     hostCall(capability, operation, requestJSON, bytes?)
//                               reports a capability call to the host; returns its id
//     compileModule(url, source) -> [handle, isNew]; moduleRequests(handle) -> specifiers;
//     linkModule(handle, specifier, target); instantiateModule(handle); evaluateModule(handle)
//     -> promise; moduleNamespace(handle): a run's ES modules (modules.cpp)
//   internals (called by the engine, with the run's context entered; the engine also records
//   there, as `installedCapabilities`, which capability preludes this context has run):
//     nextTimerDelay()          ms until the next timer is due (>= 0), or -1 when none is set
//     runNextDueTimer()         runs the earliest due timer; true if one ran. Exceptions propagate.
//     pendingOperations()       count of host operations (async WebAssembly compiles, ...) not settled
//     resultJSON(value)         JSON text for a run's result, or undefined for undefined
//     formatError(exception)    the text for an uncaught exception ("Error: msg\n    at ...")
//     capabilityHost(index)     the `host` object a capability's prelude receives: host.call(operation,
//                               request, bytes?) returns a promise of {value, bytes} (see cv8.h);
//                               host.setModuleLoader(loader) makes imports work: loader(specifier,
//                               referrer URL or null) returns a promise of {url, source}
//     completeHostCall(id, ok, json, bytes)
//                               settles the promise of an ended host call
//     installWasmModule(name, module)
//                               a pre-loaded module: __wasm_<name>, and <name> = its exports when it
//                               imports nothing (the run has not started yet: globals are pristine)
//     unstorableReason()        why the heap a stateful run ends in must not be stored, or undefined
//     beginRun(snapshotting)    called at the start of every run: forgets the last run's modules
//                               (and refuses imports when the run ends in a heap snapshot),
//                               and (WebAssembly does not exist while the snapshot is built) wraps
//                               WebAssembly.compile/instantiate so each returned promise counts in
//                               pendingOperations() until it settles; in a snapshotting isolate,
//                               gives errors their stacks (see enableErrorStacks). Idempotent.
//     loadMainModule(handle)    loads, links and evaluates what the main module imports; a promise
//     importDynamically(specifier, referrer)
//                               import(): a promise of the module's namespace
(function (native, global, lean) {
  'use strict';

  // Originals captured before any guest code runs: guests may replace globals in their own
  // context, but never what the runtime itself calls.
  const uncurryThis = Function.prototype.bind.bind(Function.prototype.call);
  const JSONStringify = JSON.stringify;
  const JSONParse = JSON.parse;
  const StringCtor = String;
  const NumberCtor = Number;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const RangeErrorCtor = RangeError;
  const PromiseCtor = Promise;
  const MapCtor = Map;
  const SetCtor = Set;
  const WeakMapCtor = WeakMap;
  const Uint8ArrayCtor = Uint8Array;
  const ArrayBufferCtor = ArrayBuffer;
  const SharedArrayBufferCtor = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : undefined;
  const ArrayPrototypePush = uncurryThis(Array.prototype.push);
  const ArrayPrototypeJoin = uncurryThis(Array.prototype.join);
  const ArrayPrototypeSplice = uncurryThis(Array.prototype.splice);
  const ArrayIsArray = Array.isArray;
  const ObjectDefineProperty = Object.defineProperty;
  const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
  const ObjectGetPrototypeOf = Object.getPrototypeOf;
  const ObjectSetPrototypeOf = Object.setPrototypeOf;
  const ObjectFreeze = Object.freeze;
  const ObjectIsExtensible = Object.isExtensible;
  const ObjectPrototypeToString = uncurryThis(Object.prototype.toString);
  const ReflectApply = Reflect.apply;
  const ReflectOwnKeys = Reflect.ownKeys;
  const MathMin = Math.min;
  const MathMax = Math.max;
  const MathFloor = Math.floor;
  const MathRandom = Math.random;
  const MathRound = Math.round;
  const MathSqrt = Math.sqrt;
  const NumberIsNaN = Number.isNaN;
  const NumberParseInt = Number.parseInt;
  const NumberParseFloat = Number.parseFloat;
  const NumberPrototypeToString = uncurryThis(Number.prototype.toString);
  const NumberPrototypeToFixed = uncurryThis(Number.prototype.toFixed);
  const NumberPrototypeValueOf = uncurryThis(Number.prototype.valueOf);
  const StringPrototypeValueOf = uncurryThis(String.prototype.valueOf);
  const BooleanPrototypeValueOf = uncurryThis(Boolean.prototype.valueOf);
  const SymbolPrototypeValueOf = uncurryThis(Symbol.prototype.valueOf);
  const SymbolPrototypeToString = uncurryThis(Symbol.prototype.toString);
  const BigIntPrototypeValueOf = typeof BigInt === 'function' ? uncurryThis(BigInt.prototype.valueOf) : undefined;
  const StringFromCharCode = String.fromCharCode;
  const StringFromCodePoint = String.fromCodePoint;
  const StringPrototypeCharCodeAt = uncurryThis(String.prototype.charCodeAt);
  const StringPrototypeCodePointAt = uncurryThis(String.prototype.codePointAt);
  const StringPrototypeSlice = uncurryThis(String.prototype.slice);
  const StringPrototypeIndexOf = uncurryThis(String.prototype.indexOf);
  const StringPrototypeLastIndexOf = uncurryThis(String.prototype.lastIndexOf);
  const StringPrototypeIncludes = uncurryThis(String.prototype.includes);
  const StringPrototypeStartsWith = uncurryThis(String.prototype.startsWith);
  const StringPrototypeEndsWith = uncurryThis(String.prototype.endsWith);
  const StringPrototypeRepeat = uncurryThis(String.prototype.repeat);
  const StringPrototypePadStart = uncurryThis(String.prototype.padStart);
  const StringPrototypePadEnd = uncurryThis(String.prototype.padEnd);
  const StringPrototypeToLowerCase = uncurryThis(String.prototype.toLowerCase);
  const StringPrototypeToUpperCase = uncurryThis(String.prototype.toUpperCase);
  const StringPrototypeNormalize = uncurryThis(String.prototype.normalize);
  const FunctionPrototypeToString = uncurryThis(Function.prototype.toString);
  const DatePrototypeGetTime = uncurryThis(Date.prototype.getTime);
  const DatePrototypeToISOString = uncurryThis(Date.prototype.toISOString);
  const DatePrototypeToString = uncurryThis(Date.prototype.toString);
  const DateNow = Date.now;
  const ErrorCaptureStackTrace = Error.captureStackTrace;
  const ErrorPrototype = Error.prototype;
  const SymbolIterator = Symbol.iterator;
  const SymbolToStringTag = Symbol.toStringTag;
  const getterOf = (object, key) => { const d = ObjectGetOwnPropertyDescriptor(object, key); return d && d.get ? uncurryThis(d.get) : undefined; };
  const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
  const TypedArrayPrototypeGetTag = getterOf(TypedArrayPrototype, Symbol.toStringTag);
  const TypedArrayPrototypeGetLength = getterOf(TypedArrayPrototype, 'length');
  const TypedArrayPrototypeGetBuffer = getterOf(TypedArrayPrototype, 'buffer');
  const TypedArrayPrototypeGetByteOffset = getterOf(TypedArrayPrototype, 'byteOffset');
  const TypedArrayPrototypeGetByteLength = getterOf(TypedArrayPrototype, 'byteLength');
  const TypedArrayPrototypeSet = uncurryThis(TypedArrayPrototype.set);
  const TypedArrayPrototypeSubarray = uncurryThis(TypedArrayPrototype.subarray);
  const ArrayBufferPrototypeGetByteLength = getterOf(ArrayBuffer.prototype, 'byteLength');
  const SharedArrayBufferPrototypeGetByteLength = SharedArrayBufferCtor ? getterOf(SharedArrayBufferCtor.prototype, 'byteLength') : undefined;
  const DataViewPrototypeGetByteLength = getterOf(DataView.prototype, 'byteLength');
  const DataViewPrototypeGetByteOffset = getterOf(DataView.prototype, 'byteOffset');
  const DataViewPrototypeGetBuffer = getterOf(DataView.prototype, 'buffer');
  const MapPrototypeGetSize = getterOf(Map.prototype, 'size');
  const MapPrototypeEntries = uncurryThis(Map.prototype.entries);
  const MapPrototypeGet = uncurryThis(Map.prototype.get);
  const MapPrototypeSet = uncurryThis(Map.prototype.set);
  const MapPrototypeHas = uncurryThis(Map.prototype.has);
  const MapPrototypeDelete = uncurryThis(Map.prototype.delete);
  const MapIteratorNext = uncurryThis(ObjectGetPrototypeOf(new Map().entries()).next);
  const SetPrototypeGetSize = getterOf(Set.prototype, 'size');
  const SetPrototypeValues = uncurryThis(Set.prototype.values);
  const SetIteratorNext = uncurryThis(ObjectGetPrototypeOf(new Set().values()).next);
  const WeakMapPrototypeHas = uncurryThis(WeakMap.prototype.has);
  const WeakMapPrototypeGet = uncurryThis(WeakMap.prototype.get);
  const WeakMapPrototypeSet = uncurryThis(WeakMap.prototype.set);
  const WeakSetPrototypeHas = uncurryThis(WeakSet.prototype.has);
  const RegExpPrototypeExec = uncurryThis(RegExp.prototype.exec);
  const RegExpPrototypeGetSource = getterOf(RegExp.prototype, 'source');
  const regExpFlagGetters = [];
  {
    const flagNames = [['hasIndices', 'd'], ['global', 'g'], ['ignoreCase', 'i'], ['multiline', 'm'],
      ['dotAll', 's'], ['unicode', 'u'], ['unicodeSets', 'v'], ['sticky', 'y']];
    for (let i = 0; i < flagNames.length; i++) {
      const getter = getterOf(RegExp.prototype, flagNames[i][0]);
      if (getter) ArrayPrototypePush(regExpFlagGetters, [getter, flagNames[i][1]]);
    }
  }
  const GeneratorFunctionPrototype = ObjectGetPrototypeOf(function* () {});
  const AsyncFunctionPrototype = ObjectGetPrototypeOf(async function () {});
  const AsyncGeneratorFunctionPrototype = ObjectGetPrototypeOf(async function* () {});
  const errorStackGetter = (() => {
    const d = ObjectGetOwnPropertyDescriptor(new ErrorCtor('x'), 'stack');
    return d && typeof d.get === 'function' ? d.get : undefined;
  })();
  const nativePrint = native.print;
  const nativeNow = native.now;
  const nativeStructuredClone = native.structuredClone;
  const nativeIsProxy = native.isProxy;
  const nativeProxyTarget = native.proxyTarget;
  const nativePromiseState = native.promiseState;
  const nativeUtf8Encode = native.utf8Encode;
  const nativeUtf8Decode = native.utf8Decode;
  const nativeHostCall = native.hostCall;

  function define(target, name, value) {
    ObjectDefineProperty(target, name, { __proto__: null, value, writable: true, enumerable: false, configurable: true });
  }
  function defineGetter(target, name, get, set) {
    ObjectDefineProperty(target, name, { __proto__: null, get, set, enumerable: true, configurable: true });
  }
  // Lists with a null prototype: element writes never reach a setter a guest put on
  // Array.prototype or Object.prototype.
  function list() {
    const array = [];
    ObjectSetPrototypeOf(array, null);
    return array;
  }
  function push(array, value) { array[array.length] = value; }
  function join(array, separator) { return ArrayPrototypeJoin(array, separator); }
  function indexOfIdentity(array, value) {
    for (let i = 0; i < array.length; i++) if (array[i] === value) return i;
    return -1;
  }
  function brand(getter, value) {
    if (getter === undefined) return false;
    try { getter(value); return true; } catch { return false; }
  }
  // Defines the globals `names` with the values `install()` returns. In a lean context (the one
  // new stateful heaps start from) they are placeholders until a program first reads one: a heap
  // that never uses URL or WASI then skips their hundreds of objects in every snapshot it makes.
  // A placeholder the guest assigned or deleted first keeps the guest's choice. `install` runs at
  // most once and only with the primordials captured above, since the guest may have replaced
  // the live globals by then. A placeholder the guest froze in place stays, answering the values.
  function installWhenUsed(names, install) {
    if (!lean) {
      const values = install();
      for (let i = 0; i < names.length; i++) define(global, names[i], values[names[i]]);
      return;
    }
    const placeholders = list();
    let installed;
    const materialize = () => {
      if (installed !== undefined) return installed;
      installed = install();
      for (let i = 0; i < names.length; i++) {
        const current = ObjectGetOwnPropertyDescriptor(global, names[i]);
        if (current !== undefined && current.get === placeholders[i] && current.configurable) {
          define(global, names[i], installed[names[i]]);
        }
      }
      return installed;
    };
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      const get = function () { return materialize()[name]; };
      push(placeholders, get);
      ObjectDefineProperty(global, name, {
        __proto__: null, get, set(value) { define(global, name, value); }, enumerable: false, configurable: true,
      });
    }
  }

