int part_d(int x) { return x * 3 + 'd'; }
