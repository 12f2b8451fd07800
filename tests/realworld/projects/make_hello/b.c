int part_b(int x) { return x * 3 + 'b'; }
