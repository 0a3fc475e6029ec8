/*
 * fsrs/fsrs.h - the umbrella header of the fsrs embeddable scripting runtime.
 *
 * Include this one header to use the library:
 *   chunk.h  compile Mini-F# source to immutable, shareable chunks
 *   vm.h     per-thread virtual machines that run chunks
 *   value.h  script values as the host sees them
 *   error.h  status codes and fsrs_error_last()
 *   reload.h the hot-reload engine and its readers
 */
#ifndef FSRS_FSRS_H
#define FSRS_FSRS_H

#define FSRS_VERSION_MAJOR 0
#define FSRS_VERSION_MINOR 1
#define FSRS_VERSION_PATCH 0
#define FSRS_VERSION_STRING "0.1.0"

#include "chunk.h"
#include "error.h"
#include "value.h"
#include "vm.h"
#include "reload.h"

#endif
