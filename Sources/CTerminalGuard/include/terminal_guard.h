#ifndef WIRELAB_TERMINAL_GUARD_H
#define WIRELAB_TERMINAL_GUARD_H
// Signal handling for the interactive REPL, in C because a signal handler may only call
// async-signal-safe functions (Swift code may take locks or allocate).

/// The byte the handlers write to the wake pipe, one per kind of signal.
enum {
    WIRELAB_WAKE_INTERRUPT = 2,   // SIGINT
    WIRELAB_WAKE_TERMINATE = 3,   // SIGTERM, SIGHUP
    WIRELAB_WAKE_RESIZE = 4,      // SIGWINCH
};

/// Saves the terminal settings of `fd` and installs the handlers: SIGINT, SIGWINCH, SIGTERM and
/// SIGHUP write their byte to `wake_fd` (a second SIGTERM or SIGHUP restores the settings and
/// exits at once); a crash signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP) restores the
/// settings and then lets the handler that was there before (the Swift runtime's backtracer) run.
/// Returns 0, or -1 when `fd` is not a terminal.
int wirelab_terminal_guard_install(int fd, int wake_fd);

/// Puts back the terminal settings saved by the install. Safe to call more than once.
void wirelab_terminal_guard_restore(void);

/// The SIGTERM or SIGHUP received, or 0.
int wirelab_terminal_guard_termination_signal(void);

#endif
