// Containing the processes runs start. A worker (and the server) is a child subreaper: a process
// that detaches (setsid, a double fork) is re-parented to it, not to PID 1, so it stays in its
// tree. The subprocess plugin starts every command in a session of its own, so a process a run
// started is told from the worker's own helpers (esbuild, MCP upstreams, and the server's workers),
// which share the worker's session: no process can join a session other than by being born in it.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <unordered_map>
#include <vector>

#include "cv8.h"

namespace {

struct ProcessEntry {
  pid_t pid;
  pid_t parent;
  pid_t session;
  bool dead;  // a zombie, waiting to be reaped
};

/// Every process on the machine, from /proc (the kernel may lack /proc/PID/task/TID/children).
std::vector<ProcessEntry> list_processes() {
  std::vector<ProcessEntry> processes;
  DIR *directory = opendir("/proc");
  if (!directory) return processes;
  while (dirent *entry = readdir(directory)) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char stat[512];
    ssize_t length = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (length <= 0) continue;
    stat[length] = '\0';
    // The command name in parentheses may itself hold ')': the fields start after the last one.
    const char *fields = strrchr(stat, ')');
    char state;
    int parent, group, session;
    if (!fields || sscanf(fields + 1, " %c %d %d %d", &state, &parent, &group, &session) != 4) continue;
    processes.push_back({static_cast<pid_t>(pid), parent, session, state == 'Z' || state == 'X'});
  }
  closedir(directory);
  return processes;
}

/// This process's descendants outside its own session, and theirs; the subtrees of its children
/// in its own session (its helpers) are not entered.
std::vector<ProcessEntry> started_by_runs(pid_t self, pid_t own_session) {
  std::vector<ProcessEntry> processes = list_processes();
  std::unordered_multimap<pid_t, const ProcessEntry *> children;
  for (const ProcessEntry &process : processes) children.emplace(process.parent, &process);
  std::vector<ProcessEntry> found;
  std::vector<pid_t> parents{self};
  while (!parents.empty()) {
    pid_t parent = parents.back();
    parents.pop_back();
    auto range = children.equal_range(parent);
    for (auto it = range.first; it != range.second; ++it) {
      const ProcessEntry &child = *it->second;
      if (parent == self && child.session == own_session) continue;
      found.push_back(child);
      parents.push_back(child.pid);
    }
  }
  return found;
}

/// Passes over /proc before giving up on processes that will not die (one blocked in the kernel).
constexpr int kMaxPasses = 2000;

}  // namespace

extern "C" {

int cv8_become_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : errno; }

size_t cv8_kill_processes_of_runs(void) {
  const pid_t self = getpid(), own_session = getsid(0);
  std::set<pid_t> killed;
  for (int pass = 0; pass < kMaxPasses; pass++) {
    std::vector<ProcessEntry> found = started_by_runs(self, own_session);
    bool alive = false;
    // Killed, a process cannot fork any more; what it forked since this pass's scan, or what
    // its death re-parents to this process, the next pass finds.
    for (const ProcessEntry &process : found) {
      if (process.dead) continue;
      kill(process.pid, SIGKILL);
      killed.insert(process.pid);
      alive = true;
    }
    if (!alive) {
      // All dead: each was re-parented to this process as its parent died, so it is ours to reap.
      for (const ProcessEntry &process : found) {
        if (process.parent == self) waitpid(process.pid, nullptr, WNOHANG);
      }
      break;
    }
    usleep(1000);
  }
  return killed.size();
}

}  // extern "C"
