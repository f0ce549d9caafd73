#ifndef WIRELAB_CLIBEDIT_SHIM_H
#define WIRELAB_CLIBEDIT_SHIM_H
// libedit's readline-compatible callback interface, used by the interactive REPL.
#include <stdio.h>
#include <editline/readline.h>
#endif
