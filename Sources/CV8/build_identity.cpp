// What names the V8 and libnode this process runs: a heap snapshot is only opened by the build that
// made it (heap_envelope.cpp). Apart from process.cpp so the envelope builds without the engine.
#include <elf.h>
#include <link.h>

#include "internal.h"

namespace {

/// Reads the GNU build-id note of the loaded libnode, which names its exact build.
int find_libnode_build_id(struct dl_phdr_info *info, size_t, void *out) {
  if (!info->dlpi_name || !strstr(info->dlpi_name, "libnode.so")) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) &header = info->dlpi_phdr[i];
    if (header.p_type != PT_NOTE) continue;
    const char *note = reinterpret_cast<const char *>(info->dlpi_addr + header.p_vaddr);
    const char *end = note + header.p_memsz;
    while (note + sizeof(ElfW(Nhdr)) <= end) {
      auto *entry = reinterpret_cast<const ElfW(Nhdr) *>(note);
      const char *name = note + sizeof(ElfW(Nhdr));
      const unsigned char *desc = reinterpret_cast<const unsigned char *>(name + ((entry->n_namesz + 3) & ~3u));
      if (entry->n_type == NT_GNU_BUILD_ID && entry->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        *static_cast<std::string *>(out) = cv8::hex(desc, entry->n_descsz);
        return 1;
      }
      note = reinterpret_cast<const char *>(desc) + ((entry->n_descsz + 3) & ~3u);
    }
  }
  return 0;
}

}  // namespace

extern "C" {

const char *cv8_libnode_build_id(void) {
  static const std::string id = [] {
    std::string hex;
    dl_iterate_phdr(find_libnode_build_id, &hex);
    return hex.empty() ? std::string("unknown") : hex;
  }();
  return id.c_str();
}

const char *cv8_v8_version(void) { return v8::V8::GetVersion(); }

}  // extern "C"
