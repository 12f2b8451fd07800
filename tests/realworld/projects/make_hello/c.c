int part_c(int x) { return x * 3 + 'c'; }
