// The Modules plugin's prelude: the body of `function (host) { ... }`, run before the guest's code.
// It defines no globals: it gives the engine the loader it calls for every import (static,
// transitive and dynamic), which host.call("import", {specifier, referrer}) answers with the
// module's final URL and its source (see modules_plugin.c).
'use strict';
host.setModuleLoader(async (specifier, referrer) => {
  const { value, bytes } = await host.call('import', { specifier, referrer });
  // No prototype: a guest's Object.prototype.then must not make the answer a thenable.
  return { __proto__: null, url: value.url, source: bytes };
});
