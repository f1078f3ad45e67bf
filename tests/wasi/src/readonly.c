// A read-only preopen as "/" (fd 3): reading works, nothing can be changed.
#include "readonly_checks.h"

int main(void) {
  readonly_checks(3);
  return 0;
}
