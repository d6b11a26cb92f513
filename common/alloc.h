/* Allocation of our own small fixed objects: abort on OOM (there is nothing
 * sensible to do mid-event-loop). Sizes a peer can influence are checked
 * against a limit by the caller before they get here. */
#ifndef RC_COMMON_ALLOC_H
#define RC_COMMON_ALLOC_H

#include <stddef.h>

void *rc_xmalloc(size_t n);
void *rc_xcalloc(size_t count, size_t size);
void *rc_xrealloc(void *p, size_t n);
char *rc_xstrndup(const char *s, size_t n);

#endif
