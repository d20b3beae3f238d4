/*
 * fs_paths.h: where an FS path leads, and reaching it without following a symlink.
 *
 * The policy judges real targets: fs_resolve_path turns what the guest wrote into the absolute
 * path it leads to, and the policy input document holds that. Acting then goes through
 * fs_open_parent, fs_open_resolved or fs_stat_resolved, which walk a resolved path down from "/"
 * and follow no symlink at all (a resolved path has none left), so a link swapped in after the
 * policy's decision makes the operation fail instead of reaching somewhere the policy never judged.
 */
#ifndef FS_PATHS_H
#define FS_PATHS_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Symlinks followed while resolving one path: Linux's own limit before ELOOP. */
#define FS_MAX_SYMLINK_HOPS 40

/* Resolves `path` into `resolved` like `realpath -m`: absolute (a relative path, the empty one
 * included, is taken against the working directory), without "." and ".." (".." at "/" stays
 * at "/"), every symlink replaced by its target; components that do not exist (or cannot be
 * examined) are kept as written. The final component's symlink is followed only when asked. A
 * chain beyond FS_MAX_SYMLINK_HOPS stays unresolved: acting never follows symlinks, so it then
 * fails with ELOOP or ENOTDIR. Returns 0, ENAMETOOLONG when the result (or a symlink's target)
 * does not fit in PATH_MAX, or another errno value. */
int fs_resolve_path(const char *path, bool follow_final_symlink, char resolved[static PATH_MAX]);

/* Opens the directory holding a resolved path's last component by walking down from "/"
 * without following symlinks, creating missing directories when `create_missing` (mkdir -p).
 * O_PATH needs only search permission, as a normal path lookup does. Points `*last_name` at
 * the last component ("." for "/"). Returns the descriptor, or -1 with errno set. */
int fs_open_parent(const char *resolved, const char **last_name, bool create_missing);

/* open(2) of a resolved path that follows no symlink at all. */
int fs_open_resolved(const char *resolved, int flags, mode_t mode);

/* lstat(2) of a resolved path that follows no symlink. Returns 0 or an errno value. */
int fs_stat_resolved(const char *resolved, struct stat *status);

#endif
