/* nguestmount: process lifetime.
 *
 * The parent parses, checks and forks; the daemon does the work and says
 * "ready" (or sends its one error message) through a pipe; the parent exits
 * 0 only once the mountpoint serves.  A watchdog child, forked before any
 * resource is taken, lazily unmounts the user's mountpoint if the daemon
 * dies without tearing down (kill -9), so no stale "Transport endpoint is
 * not connected" mount is left behind.
 */
#ifndef NGM_DAEMON_H
#define NGM_DAEMON_H

#include <stdbool.h>

/* Fork: the parent waits for the daemon's verdict and exits with it (never
 * returns); the child returns 0 having started a new session and
 * redirected stdio to /dev/null (unless verbose).  With no_fork, returns 0
 * at once and daemon_ready writes nothing. */
int daemon_fork (bool no_fork, bool verbose);

/* Start the watchdog for mountpoint. */
int daemon_watchdog_start (const char *mountpoint);
/* Tell the watchdog the user's mount was torn down cleanly. */
void daemon_watchdog_disarm (void);

/* Report to the parent: success (msg NULL) or the one error message. */
void daemon_ready (const char *errmsg);

#endif /* NGM_DAEMON_H */
