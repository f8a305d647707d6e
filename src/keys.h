/* nguestmount: LUKS keys from the command line, stdin or the terminal.
 *
 * Sources, like guestmount:
 *   --key ID:key:PASSPHRASE   --key ID:file:FILENAME
 *       ID is a guest device name ("/dev/sda2"), a LUKS UUID, or "all".
 *       PASSPHRASE is everything after the second ':' (it may contain ':').
 *       A key file's whole content is the key (cryptsetup --key-file
 *       semantics: every byte counts, a trailing newline too).
 *   --keys-from-stdin: one key per line.  Only the '\n' is removed: a '\r'
 *       before it is part of the key (a CRLF file gives keys ending in
 *       '\r'; cryptsetup --key-file=- reads lines the same way).  Empty
 *       lines are skipped.
 *   otherwise, when interactive, a prompt on /dev/tty with echo off.
 *
 * Secrets are never logged, are wiped (explicit_bzero) when freed, and
 * never appear in a message: errors about a selector describe it without
 * quoting it.
 */
#ifndef NGM_KEYS_H
#define NGM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Limits on what we accept as a key. */
#define KEYS_MAX_LEN (8u * 1024 * 1024) /* key file (cryptsetup's default) */
#define KEYS_MAX_LINE (64u * 1024)      /* one stdin line or typed key */
#define KEYS_MAX_STDIN 4096             /* lines read from stdin */

struct key_spec {
  char *id;     /* "all", "/dev/sda2", a UUID */
  bool is_file; /* value is a file name to read */
  char *value;  /* the passphrase, or the file name */
};

struct key_store {
  struct key_spec *specs; /* --key, in command line order */
  size_t n;
  char **stdin_keys; /* --keys-from-stdin, in input order */
  size_t n_stdin;
  bool from_stdin_done; /* keys_read_stdin has run */
  bool echo;            /* --echo-keys: show what is typed */
  bool interactive;     /* may prompt on /dev/tty */
};

/* Parse "ID:key:PASSPHRASE" or "ID:file:FILENAME" into *ret (fields newly
 * allocated; free with key_spec_clear).  Pure.  -EINVAL with a message
 * that names the problem but never repeats the argument; -ENOTSUP for the
 * "ID:clevis" selector of guestmount (network-bound keys). */
int keys_parse_selector (const char *arg, struct key_spec *ret, char **ret_msg);
void key_spec_clear (struct key_spec *ks);

/* Add a parsed --key to the store (takes ownership of spec's fields). */
void keys_add (struct key_store *ks, struct key_spec *spec);

/* Read keys from in, one per line (see above), appending to
 * ks->stdin_keys; sets from_stdin_done.  -E2BIG when a line is longer
 * than KEYS_MAX_LINE or there are more than KEYS_MAX_STDIN keys, -EIO on a
 * read error; what was read before an error is wiped and dropped. */
int keys_read_stdin (struct key_store *ks, FILE *in);

/* The keys to try for a device (guest name and LUKS uuid, either may be
 * NULL): --key matches for that device or uuid first (in command line
 * order), then "all", then every stdin key.  If there are none and
 * ks->interactive, prompt on /dev/tty "Enter key for DEVICE (UUID): "
 * (echo off unless ks->echo; the terminal is restored on every path, also
 * when SIGINT, SIGTERM, SIGHUP or SIGQUIT arrives while it waits).
 * *ret is a NULL-terminated vector; free it with keys_free_candidates
 * (which wipes it), never with free.  An empty vector is not an error.
 * Key files are read here: a missing or unreadable file gives -errno. */
int keys_candidates (struct key_store *ks, const char *device, const char *uuid,
                     char ***ret);
/* Same, with the user-facing reason of a failure in *ret_msg. */
int keys_candidates_full (struct key_store *ks, const char *device,
                          const char *uuid, char ***ret, char **ret_msg);
/* The length in bytes of candidate c (key files may contain NUL bytes, so
 * use this rather than strlen with luks_open_keys). */
size_t keys_candidate_len (const char *c);
void keys_free_candidates (char **v);

/* Wipe and free everything in the store; ks is reset to empty (echo and
 * interactive are kept). */
void key_store_clear (struct key_store *ks);

/* Overwrite in place the secret part of every --key argument in argv
 * ("--key SEL", "--key=SEL", "-key SEL", "-key=SEL"), so that
 * /proc/PID/cmdline no longer shows it: the passphrase of ID:key:PASS is
 * replaced by NUL bytes; a selector that is not ID:key:... or ID:file:...
 * is blanked entirely (it may be a mistyped passphrase).  ID:file:NAME is
 * kept.  Stops at "--". */
void keys_scrub_argv (int argc, char **argv);

#endif /* NGM_KEYS_H */
