#include "terminal_guard.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_settings;
static volatile sig_atomic_t have_settings = 0;
static int terminal_fd = -1;
static int wake_pipe = -1;
static volatile sig_atomic_t termination_signal = 0;

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP };
#define CRASH_SIGNAL_COUNT (sizeof crash_signals / sizeof crash_signals[0])
static struct sigaction previous_crash_actions[CRASH_SIGNAL_COUNT];

void wirelab_terminal_guard_restore(void) {
    if (have_settings) {
        (void)tcsetattr(terminal_fd, TCSANOW, &saved_settings);
    }
}

int wirelab_terminal_guard_termination_signal(void) {
    return termination_signal;
}

static void wake(unsigned char byte) {
    int saved_errno = errno;
    (void)write(wake_pipe, &byte, 1);
    errno = saved_errno;
}

static void on_interrupt(int signal_number) {
    (void)signal_number;
    wake(WIRELAB_WAKE_INTERRUPT);
}

static void on_resize(int signal_number) {
    (void)signal_number;
    wake(WIRELAB_WAKE_RESIZE);
}

/// The first SIGTERM or SIGHUP asks the UI thread to leave cleanly (terminal settings, history,
/// clients closed); a second one means that did not work: restore and exit now.
static void on_terminate(int signal_number) {
    if (termination_signal != 0) {
        wirelab_terminal_guard_restore();
        _exit(128 + signal_number);
    }
    termination_signal = signal_number;
    wake(WIRELAB_WAKE_TERMINATE);
}

static void on_crash(int signal_number, siginfo_t *info, void *context) {
    wirelab_terminal_guard_restore();
    for (size_t index = 0; index < CRASH_SIGNAL_COUNT; index++) {
        if (crash_signals[index] != signal_number) continue;
        struct sigaction *previous = &previous_crash_actions[index];
        if ((previous->sa_flags & SA_SIGINFO) && previous->sa_sigaction != NULL) {
            previous->sa_sigaction(signal_number, info, context);
            return;
        }
        if (previous->sa_handler != SIG_DFL && previous->sa_handler != SIG_IGN) {
            previous->sa_handler(signal_number);
            return;
        }
        (void)sigaction(signal_number, previous, NULL);
        (void)raise(signal_number);
        return;
    }
}

static void handle(int signal_number, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    (void)sigaction(signal_number, &action, NULL);
}

int wirelab_terminal_guard_install(int fd, int wake_fd) {
    if (tcgetattr(fd, &saved_settings) != 0) return -1;
    terminal_fd = fd;
    have_settings = 1;
    wake_pipe = wake_fd;
    handle(SIGINT, on_interrupt);
    handle(SIGWINCH, on_resize);
    handle(SIGTERM, on_terminate);
    handle(SIGHUP, on_terminate);
    for (size_t index = 0; index < CRASH_SIGNAL_COUNT; index++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = on_crash;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        (void)sigaction(crash_signals[index], &action, &previous_crash_actions[index]);
    }
    return 0;
}
