int part_a(int x) { return x * 3 + 'a'; }
