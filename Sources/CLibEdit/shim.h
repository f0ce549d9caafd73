#ifndef WIRELAB_CLIBEDIT_SHIM_H
#define WIRELAB_CLIBEDIT_SHIM_H
// libedit's own interface (histedit.h), used by the interactive REPL. Not the readline-compatible
// one: its callback mode keeps `rl_line_buffer` pointing into a buffer that el_gets reallocates,
// and writes through it after each key, which corrupted the heap on lines of about 8 KiB; it also
// copies the whole line twice per key, so a long paste took quadratic time.
// el_set and history are C-variadic, which Swift cannot call: one wrapper per use.
#include <stdio.h>
#include <wchar.h>
#include <histedit.h>

typedef unsigned char (*wirelab_el_command)(EditLine *, int);

static inline EditLine *wirelab_el_init(const char *program) {
    return el_init(program, stdin, stdout, stderr);
}
static inline int wirelab_el_set_editor(EditLine *el, const char *mode) {
    return el_set(el, EL_EDITOR, mode);
}
static inline int wirelab_el_set_prompt(EditLine *el, char *(*prompt)(EditLine *)) {
    return el_set(el, EL_PROMPT, prompt);
}
static inline int wirelab_el_set_unbuffered(EditLine *el, int on) {
    return el_set(el, EL_UNBUFFERED, on);
}
static inline int wirelab_el_set_getc(EditLine *el, el_rfunc_t getc) {
    return el_set(el, EL_GETCFN, getc);
}
static inline int wirelab_el_set_history(EditLine *el, History *history_state) {
    return el_set(el, EL_HIST, history, history_state);
}
static inline int wirelab_el_add_command(EditLine *el, const char *name, const char *help, wirelab_el_command command) {
    return el_set(el, EL_ADDFN, name, help, command);
}
static inline int wirelab_el_bind(EditLine *el, const char *keys, const char *command) {
    return el_set(el, EL_BIND, keys, command, NULL);
}
/// Forgets what libedit believes is on the screen and draws the prompt and the line again.
static inline int wirelab_el_redraw(EditLine *el) {
    return el_set(el, EL_REFRESH);
}

static inline int wirelab_history_set_size(History *state, int size) {
    HistEvent event;
    return history(state, &event, H_SETSIZE, size);
}
static inline int wirelab_history_set_unique(History *state, int on) {
    HistEvent event;
    return history(state, &event, H_SETUNIQUE, on);
}
static inline int wirelab_history_enter(History *state, const char *line) {
    HistEvent event;
    return history(state, &event, H_ENTER, line);
}
static inline int wirelab_history_load(History *state, const char *path) {
    HistEvent event;
    return history(state, &event, H_LOAD, path);
}
static inline int wirelab_history_save_file(History *state, FILE *file) {
    HistEvent event;
    return history(state, &event, H_SAVE_FP, file);
}
#endif
