// Binary max-heaps of (key f32, id u32) entries, 8 bytes each, in linear memory. The caller
// keeps the size. As in hnswlib, a min-heap is a max-heap of negated keys (candidate set).

/** Pushes (key, id) onto the heap at `h` holding `n` entries. */
export function push(h: usize, n: u32, key: f32, id: u32): void {
  let i = n;
  while (i > 0) {
    let p = (i - 1) >> 1;
    let at = h + (<usize>p << 3);
    if (load<f32>(at) >= key) break;
    store<u64>(h + (<usize>i << 3), load<u64>(at));
    i = p;
  }
  let at = h + (<usize>i << 3);
  store<f32>(at, key);
  store<u32>(at, id, 4);
}

/** Removes the top (largest key) of the heap at `h` holding `n` > 0 entries. */
export function pop(h: usize, n: u32): void {
  let last = n - 1;
  let key = load<f32>(h + (<usize>last << 3));
  let id = load<u32>(h + (<usize>last << 3), 4);
  let i: u32 = 0;
  while (true) {
    let c = (i << 1) + 1;
    if (c >= last) break;
    let ck = load<f32>(h + (<usize>c << 3));
    if (c + 1 < last) {
      let rk = load<f32>(h + (<usize>(c + 1) << 3));
      if (rk > ck) {
        c++;
        ck = rk;
      }
    }
    if (ck <= key) break;
    store<u64>(h + (<usize>i << 3), load<u64>(h + (<usize>c << 3)));
    i = c;
  }
  let at = h + (<usize>i << 3);
  store<f32>(at, key);
  store<u32>(at, id, 4);
}

/** Key of the top entry. */
@inline export function topKey(h: usize): f32 {
  return load<f32>(h);
}

/** Id of the top entry. */
@inline export function topId(h: usize): u32 {
  return load<u32>(h, 4);
}
