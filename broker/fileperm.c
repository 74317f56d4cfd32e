/*
 * fileperm.c - warn at start about secret files others may touch (see
 * fileperm.h). The files are created 0600 (store.c, swb_curve.c), so a
 * looser mode means someone changed it, copied the file, or restored a
 * backup with a wide umask: the broker says which file and how to fix it
 * instead of refusing to start, so that an operator is told, not locked
 * out.
 */
#include "fileperm.h"

#include <stdio.h>
#include <sys/stat.h>

#include "swb_log.h"

bool
swb_fileperm_warn(const char *path)
{
    struct stat st;
    if (!path || stat(path, &st) != 0)
        return false;
    if (!(st.st_mode & (S_IRWXG | S_IRWXO)))
        return false;
    bool dir = S_ISDIR(st.st_mode);
    char fix[4200], qpath[4200], qfix[4300];
    snprintf(fix, sizeof fix, "chmod %s %s", dir ? "700" : "600", path);
    swb_log(SWB_LOG_WARN, "security", "loose_mode", "file=%s mode=%04o "
            "fix=%s why=\"group or others may read or write it\"",
            swb_log_quote(qpath, sizeof qpath, path),
            (unsigned)(st.st_mode & 07777),
            swb_log_quote(qfix, sizeof qfix, fix));
    return true;
}
