// Clang's thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html), as
// abseil spells them: what a "guarded by" comment says, checked by the compiler. They expand to
// nothing under GCC; the `clang-thread-safety` preset builds the tree with clang and
// -Wthread-safety -Werror (CI runs it), so a field read without its lock fails the build.
#pragma once

#if defined(__clang__)
#define FUTEXBOX_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define FUTEXBOX_THREAD_ANNOTATION(x)
#endif

// A type that is a lock (`name` is what messages call it).
#define FUTEXBOX_CAPABILITY(name) FUTEXBOX_THREAD_ANNOTATION(capability(name))
// An RAII holder of a lock.
#define FUTEXBOX_SCOPED_CAPABILITY FUTEXBOX_THREAD_ANNOTATION(scoped_lockable)
// A field that may be touched only with `lock` held.
#define FUTEXBOX_GUARDED_BY(lock) FUTEXBOX_THREAD_ANNOTATION(guarded_by(lock))
// A pointer whose pointee may be touched only with `lock` held.
#define FUTEXBOX_PT_GUARDED_BY(lock) FUTEXBOX_THREAD_ANNOTATION(pt_guarded_by(lock))
// A function called with the locks held, and leaving them held.
#define FUTEXBOX_REQUIRES(...) FUTEXBOX_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// A function that must not be called with the locks held (it takes them).
#define FUTEXBOX_EXCLUDES(...) FUTEXBOX_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// A function that takes / releases the locks (no argument: the object itself).
#define FUTEXBOX_ACQUIRE(...) FUTEXBOX_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define FUTEXBOX_RELEASE(...) FUTEXBOX_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define FUTEXBOX_TRY_ACQUIRE(...) FUTEXBOX_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// A function that tells the analysis the locks are held (for a lock it cannot see is the same
// as one it knows is held, e.g. the siglock of a thread's process reached two ways).
#define FUTEXBOX_ASSERT_CAPABILITY(x) FUTEXBOX_THREAD_ANNOTATION(assert_capability(x))
// A function that returns a reference to the lock (so callers' annotations can name it).
#define FUTEXBOX_RETURN_CAPABILITY(x) FUTEXBOX_THREAD_ANNOTATION(lock_returned(x))
// Opts a function out of the analysis; each use says why in a comment.
#define FUTEXBOX_NO_THREAD_SAFETY_ANALYSIS FUTEXBOX_THREAD_ANNOTATION(no_thread_safety_analysis)
