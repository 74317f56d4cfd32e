/*
 * fileperm.h - the start-up check that the files which hold the broker's
 * secrets are its own: the LMDB files (task payloads and results), its
 * secret certificate and its --keys folder (who may connect).
 *
 * Does: stat one path and log one WARNING when group or others may read
 * or write it (the broker still starts). Does not: change any mode, or
 * create or open the file.
 *
 * Threading: no shared state; any thread.
 */
#ifndef SWB_FILEPERM_H
#define SWB_FILEPERM_H

#include <stdbool.h>

/*
 * Looks at path (following symlinks). When its mode gives group or
 * others any of read, write or execute, logs one line
 *   level=warn component=security event=loose_mode file=PATH mode=0644
 *   fix="chmod 600 PATH" why="..."
 * ("chmod 700" for a folder) and returns true. Returns false, and logs
 * nothing, when the mode is 0600/0700 or tighter or when path cannot be
 * stat'ed (a missing file is not this check's business).
 */
bool swb_fileperm_warn(const char *path);

#endif
