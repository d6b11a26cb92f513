/* ThreadSanitizer annotations for the log's deliberate race: a reader may
 * read record bytes while the writer overwrites them (it was lapped). That
 * read is never trusted: the head check after it (shm/layout.h) rejects it.
 * TSan cannot know that, so the few reads and writes of ring bytes are
 * excluded from its race detection; every atomic that orders them is still
 * checked. Empty outside -fsanitize=thread. */
#ifndef RC_SHM_TSAN_H
#define RC_SHM_TSAN_H

#if defined(__SANITIZE_THREAD__)
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);
#define RC_TSAN_IGNORE_READS_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define RC_TSAN_IGNORE_READS_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#define RC_TSAN_IGNORE_WRITES_BEGIN() AnnotateIgnoreWritesBegin(__FILE__, __LINE__)
#define RC_TSAN_IGNORE_WRITES_END() AnnotateIgnoreWritesEnd(__FILE__, __LINE__)
#else
#define RC_TSAN_IGNORE_READS_BEGIN() ((void)0)
#define RC_TSAN_IGNORE_READS_END() ((void)0)
#define RC_TSAN_IGNORE_WRITES_BEGIN() ((void)0)
#define RC_TSAN_IGNORE_WRITES_END() ((void)0)
#endif

#endif
