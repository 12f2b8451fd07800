// A statically linked program: futexbox run refuses it, and so does a guest's execve.
#include <stdio.h>
int main(void) {
  puts("static hello");
  return 0;
}
