//! Input generation for the fuzz driver: a small seeded generator and byte-level mutations (bit
//! flips, byte insert/delete, splice, interesting values, dictionary tokens, repetition,
//! truncation) stacked on a seed from the corpus.

/// SplitMix64: tiny, fast, and good enough to pick mutations; not for anything secret.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Values at the edges of integer types, where length and offset arithmetic tends to break.
const INTERESTING: &[u64] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0x8000,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// Decimal texts that stress number parsing in text formats.
const NUMBERS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"4294967296",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"1e999",
    b"-0.0",
    b"0.0000001",
    b"999999999999999999999999999999",
];

pub struct Mutator {
    seeds: Vec<Vec<u8>>,
    dictionary: &'static [&'static [u8]],
    max_len: usize,
}

impl Mutator {
    pub fn new(
        mut seeds: Vec<Vec<u8>>,
        dictionary: &'static [&'static [u8]],
        max_len: usize,
    ) -> Self {
        if seeds.is_empty() {
            seeds.push(Vec::new());
        }
        Mutator {
            seeds,
            dictionary,
            max_len: max_len.max(1),
        }
    }

    /// Input number `index` of the run with `seed`: the same pair always gives the same bytes.
    pub fn input(&self, seed: u64, index: u64) -> Vec<u8> {
        let mut rng = Rng::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        // A few pure-noise inputs, and a few seeds unchanged (so the well-formed path runs too).
        if rng.chance(64) {
            let len = rng.below(512.min(self.max_len + 1));
            return (0..len).map(|_| rng.next_u64() as u8).collect();
        }
        let mut data = self.seeds[rng.below(self.seeds.len())].clone();
        if rng.chance(64) {
            return data;
        }
        let rounds = 1 << rng.below(4);
        for _ in 0..rounds {
            self.mutate_once(&mut rng, &mut data);
        }
        data.truncate(self.max_len);
        data
    }

    fn mutate_once(&self, rng: &mut Rng, data: &mut Vec<u8>) {
        let len = data.len();
        match rng.below(15) {
            // Flip one bit.
            0 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            // Replace a byte.
            1 if len > 0 => {
                let at = rng.below(len);
                data[at] = rng.next_u64() as u8;
            }
            // Nudge a byte up or down (digits, lengths, tag values).
            2 if len > 0 => {
                let at = rng.below(len);
                let delta = 1 + rng.below(35) as u8;
                data[at] = if rng.chance(2) {
                    data[at].wrapping_add(delta)
                } else {
                    data[at].wrapping_sub(delta)
                };
            }
            // Overwrite 1, 2, 4 or 8 bytes with an interesting value, either byte order.
            3 if len > 0 => {
                let width = 1 << rng.below(4);
                let v = INTERESTING[rng.below(INTERESTING.len())];
                let bytes = if rng.chance(2) {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                };
                let at = rng.below(len);
                let src = if rng.chance(2) {
                    &bytes[8 - width..]
                } else {
                    &bytes[..width]
                };
                for (i, b) in src.iter().enumerate() {
                    if let Some(slot) = data.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            // Insert random bytes.
            4 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let noise: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                data.splice(at..at, noise);
            }
            // Insert a dictionary token or a number.
            5 | 6 => {
                let at = rng.below(len + 1);
                let token: &[u8] = if !self.dictionary.is_empty() && rng.chance(2) {
                    self.dictionary[rng.below(self.dictionary.len())]
                } else {
                    NUMBERS[rng.below(NUMBERS.len())]
                };
                if rng.chance(3) && at + token.len() <= len {
                    data[at..at + token.len()].copy_from_slice(token);
                } else {
                    data.splice(at..at, token.iter().copied());
                }
            }
            // Delete a range.
            7 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                data.drain(at..at + n);
            }
            // Copy a range to another place.
            8 if len > 0 => {
                let from = rng.below(len);
                let n = 1 + rng.below((len - from).min(256));
                let chunk = data[from..from + n].to_vec();
                let at = rng.below(len + 1);
                data.splice(at..at, chunk);
            }
            // Splice: our head and another seed's tail.
            9 => {
                let other = &self.seeds[rng.below(self.seeds.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            // Truncate.
            10 if len > 0 => {
                data.truncate(rng.below(len));
            }
            // Repeat a short range many times: long names, deep nesting, long lines.
            11 if len > 0 => {
                let from = rng.below(len);
                let n = 1 + rng.below((len - from).min(8));
                let chunk = data[from..from + n].to_vec();
                let times = 1 + rng.below(self.max_len / n / 4 + 1);
                let at = rng.below(len + 1);
                let repeated: Vec<u8> = chunk.iter().copied().cycle().take(n * times).collect();
                data.splice(at..at, repeated);
            }
            // Swap two bytes.
            12 if len > 1 => {
                let a = rng.below(len);
                let b = rng.below(len);
                data.swap(a, b);
            }
            // A run of one byte value (0x00, 0xff, a quote, a digit...).
            13 => {
                let at = rng.below(len + 1);
                let byte = match rng.below(4) {
                    0 => 0,
                    1 => 0xff,
                    2 => b'0' + rng.below(10) as u8,
                    _ => rng.next_u64() as u8,
                };
                let n = 1 + rng.below(64);
                data.splice(at..at, std::iter::repeat_n(byte, n));
            }
            // Invalid or boundary UTF-8.
            _ => {
                const UTF8: &[&[u8]] = &[
                    b"\xc3",
                    b"\xe2\x82",
                    b"\xf0\x9f\x98",
                    b"\xed\xa0\x80",
                    b"\xef\xbb\xbf",
                    b"\xe2\x80\xae",
                    b"\xc0\x80",
                    b"\xf4\x90\x80\x80",
                ];
                let at = rng.below(len + 1);
                data.splice(at..at, UTF8[rng.below(UTF8.len())].iter().copied());
            }
        }
        // Keep growth in check between rounds; the final cut is in `input`.
        if data.len() > self.max_len * 2 {
            data.truncate(self.max_len);
        }
    }
}
