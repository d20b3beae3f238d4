/* A third-party capability plugin, as someone outside the project would write it: plain C11
 * against mcpv8_capability.h alone, built by the tests with `cc`. It gives guests `kv`, an
 * in-memory key-value store of the worker process, gated by the `kv` policy category.
 *
 *   await kv.set("name", "value")   // policy input {"operation": "set", "key": "name"}
 *   await kv.get("name")            // "value", or null when unset; answered from another thread
 *   await kv.crash()                // aborts the worker process (tests that only that run fails)
 *
 * Keys are letters, digits, '_' and '-' (the prelude checks), so a request is the JSON string
 * "key" and values travel as bytes: no JSON parser needed.
 *
 * Variants for the loader's refusals: -DKV_ABI_MAJOR=N, -DKV_FAIL_INIT, -DKV_CATEGORY='"x"',
 * -DKV_DESCRIPTOR_SIZE=N, -DKV_CRASH_ENTRY (its entry dereferences NULL), -DKV_HANG_ENTRY (its entry
 * never returns), -DKV_USAGE='"..."'.
 * For the ABI's promise across minor versions: built with -I the 1.0 header (old plugin, newer
 * host), and -DKV_NEWER_MINOR (a plugin of a later minor, which appended a field to the
 * descriptor and to each operation that this host does not know and must step over).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcpv8_capability.h"

#ifndef KV_ABI_MAJOR
#define KV_ABI_MAJOR MCPV8_ABI_MAJOR
#endif
#ifndef KV_CATEGORY
#define KV_CATEGORY "kv"
#endif

#ifdef KV_NEWER_MINOR
typedef struct { mcpv8_operation known; void *appended; } kv_operation;
typedef struct { mcpv8_plugin known; void *appended; } kv_descriptor;
#define KV_ABI_MINOR (MCPV8_ABI_MINOR + 1)
#else
typedef struct { mcpv8_operation known; } kv_operation;
typedef struct { mcpv8_plugin known; } kv_descriptor;
#define KV_ABI_MINOR MCPV8_ABI_MINOR
#endif
/* `--plugin-config kv.capacity=N` keeps at most N keys. ABI 1.1 renamed the host's `config` to
 * `config_host_owned` in the same place, so one source builds against either header. */
#if MCPV8_ABI_MINOR == 0
#define KV_CONFIG config
#else
#define KV_CONFIG config_host_owned
#endif
/* ABI 1.1's usage line for the run_js description (-DKV_USAGE='"..."' replaces it). */
#ifndef KV_USAGE
#define KV_USAGE "await kv.set(key, value), await kv.get(key) -> string|null: a key-value store of the worker process"
#endif
#ifndef KV_DESCRIPTOR_SIZE
#define KV_DESCRIPTOR_SIZE sizeof(kv_descriptor)
#endif

#define KV_CAPACITY 64
#define KV_KEY_MAX 64

static const mcpv8_host_api *host;
static int capacity = KV_CAPACITY;
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char key[KV_KEY_MAX + 1];
  char *value;
  size_t length;
} store[KV_CAPACITY];

/* The request is a JSON string of a key; copies the key out, or returns 0. */
static int read_key(const char *request, size_t length, char key[KV_KEY_MAX + 1]) {
  if (length < 3 || length > KV_KEY_MAX + 2 || request[0] != '"' || request[length - 1] != '"') return 0;
  for (size_t i = 1; i + 1 < length; i++) {
    char c = request[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return 0;
  }
  memcpy(key, request + 1, length - 2);
  key[length - 2] = 0;
  return 1;
}

static int policy_input(const char *operation, const char *request, size_t length, char **input, char **error) {
  char key[KV_KEY_MAX + 1];
  if (strcmp(operation, "crash") == 0) {
    *input = strdup("{\"operation\":\"crash\"}");
    return 0;
  }
  if (!read_key(request, length, key)) {
    *error = strdup("kv: a key is 1-64 letters, digits, '_' or '-'");
    return 1;
  }
  size_t size = strlen(operation) + strlen(key) + 32;
  *input = malloc(size);
  snprintf(*input, size, "{\"operation\":\"%s\",\"key\":\"%s\"}", operation, key);
  return 0;
}

static int set_input(void *state, const char *request, size_t length, char **input, char **error) {
  (void)state;
  return policy_input("set", request, length, input, error);
}

static int get_input(void *state, const char *request, size_t length, char **input, char **error) {
  (void)state;
  return policy_input("get", request, length, input, error);
}

static int crash_input(void *state, const char *request, size_t length, char **input, char **error) {
  (void)state;
  return policy_input("crash", request, length, input, error);
}

static void set_start(void *state, mcpv8_call *call, const char *request, size_t length, const uint8_t *bytes,
                      size_t bytes_length) {
  (void)state;
  char key[KV_KEY_MAX + 1];
  read_key(request, length, key);
  pthread_mutex_lock(&store_lock);
  int slot = -1;
  for (int i = 0; i < capacity && slot < 0; i++)
    if (store[i].key[0] == 0 || strcmp(store[i].key, key) == 0) slot = i;
  if (slot >= 0) {
    free(store[slot].value);
    store[slot].value = malloc(bytes_length + 1);
    if (bytes_length) memcpy(store[slot].value, bytes, bytes_length);
    store[slot].length = bytes_length;
    strcpy(store[slot].key, key);
  }
  pthread_mutex_unlock(&store_lock);
  if (slot < 0) {
    host->fail(call, "ENOSPC", "kv: the store is full");
    return;
  }
  host->complete(call, "true", 4, NULL, 0);
}

struct pending_get {
  mcpv8_call *call;
  char key[KV_KEY_MAX + 1];
};

/* Answers from a thread of the plugin's own, as a plugin doing real I/O would. */
static void *answer_get(void *argument) {
  struct pending_get *get = argument;
  pthread_mutex_lock(&store_lock);
  int found = -1;
  for (int i = 0; i < KV_CAPACITY && found < 0; i++)
    if (strcmp(store[i].key, get->key) == 0) found = i;
  if (found < 0) {
    pthread_mutex_unlock(&store_lock);
    host->complete(get->call, NULL, 0, NULL, 0);
  } else {
    size_t length = store[found].length;
    uint8_t *copy = malloc(length + 1);
    memcpy(copy, store[found].value, length);
    pthread_mutex_unlock(&store_lock);
    host->complete(get->call, "\"found\"", 7, copy, length);
    free(copy);
  }
  free(get);
  return NULL;
}

static void get_start(void *state, mcpv8_call *call, const char *request, size_t length, const uint8_t *bytes,
                      size_t bytes_length) {
  (void)state, (void)bytes, (void)bytes_length;
  struct pending_get *get = malloc(sizeof *get);
  get->call = call;
  read_key(request, length, get->key);
  pthread_t thread;
  if (pthread_create(&thread, NULL, answer_get, get) != 0) {
    free(get);
    host->fail(call, "EAGAIN", "kv: could not start a thread");
    return;
  }
  pthread_detach(thread);
}

static void crash_start(void *state, mcpv8_call *call, const char *request, size_t length, const uint8_t *bytes,
                        size_t bytes_length) {
  (void)state, (void)call, (void)request, (void)length, (void)bytes, (void)bytes_length;
  abort();
}

static const char prelude[] =
    "const check = (key) => {\n"
    "  if (typeof key !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(key))\n"
    "    throw new TypeError('kv: a key is 1-64 letters, digits, _ or -');\n"
    "  return key;\n"
    "};\n"
    "const kv = {\n"
    "  set: (key, value) => host.call('set', check(key), new TextEncoder().encode(String(value))).then(a => a.value),\n"
    "  get: (key) => host.call('get', check(key)).then(a => a.value === null ? null : new TextDecoder().decode(a.bytes)),\n"
    "  crash: () => host.call('crash', null),\n"
    "};\n"
    "Object.defineProperty(globalThis, 'kv', { value: Object.freeze(kv), writable: true, configurable: true });\n";

static const char *const globals[] = {"kv"};

#define KV_OPERATION(name, input, start) {.known = {sizeof(kv_operation), name, input, start, NULL}}
static const kv_operation operations[] = {
    KV_OPERATION("set", set_input, set_start),
    KV_OPERATION("get", get_input, get_start),
    KV_OPERATION("crash", crash_input, crash_start),
};

static const kv_descriptor descriptor = {.known = {
    .size = KV_DESCRIPTOR_SIZE,
    .abi_major = KV_ABI_MAJOR,
    .abi_minor = KV_ABI_MINOR,
    .name = "kv",
    .version = "1.0.0",
    .category = KV_CATEGORY,
    .globals = globals,
    .global_count = 1,
    .prelude_js = prelude,
    .operations = &operations[0].known,
    .operation_count = sizeof operations / sizeof operations[0],
    .state = NULL,
    .release = free,
    .shutdown = NULL,
#if MCPV8_ABI_MINOR >= 1
    .usage = KV_USAGE,
#endif
}};

const mcpv8_plugin *mcpv8_plugin_entry(const mcpv8_host_api *api, char *error, size_t error_capacity) {
  host = api;
#ifdef KV_FAIL_INIT
  snprintf(error, error_capacity, "kv: the store could not be opened");
  return NULL;
#endif
#ifdef KV_CRASH_ENTRY
  volatile int *nowhere = NULL;
  *nowhere = 1;
#endif
#ifdef KV_HANG_ENTRY
  for (;;) pause();
#endif
  char *setting = host->KV_CONFIG("kv", "capacity");
  if (setting) {
    capacity = atoi(setting);
    host->release(setting);
    if (capacity < 1 || capacity > KV_CAPACITY) {
      snprintf(error, error_capacity, "kv: capacity must be a number from 1 to %d", KV_CAPACITY);
      return NULL;
    }
  }
  return &descriptor.known;
}
