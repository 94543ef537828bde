//! Averaged multi-class perceptron over hashed sparse features.
//!
//! Training keeps exact per-feature weight rows in a hash map; [`Trainer::finish`] averages,
//! keeps the rows with the largest weights and quantises each weight to one byte, giving a
//! compact [`Model`] that is serialised as delta-coded keys plus weight rows and rebuilt into
//! an open-addressing table of sparse rows on load.

use std::collections::HashMap;

use super::NlpError;

const K1: u64 = 0x9E37_79B9_7F4A_7C15;
const K2: u64 = 0xFF51_AFD7_ED55_8CCD;

/// FNV-1a over bytes, finalised so that short strings spread over all 64 bits.
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    finalise(h)
}

fn finalise(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(K2);
    h ^= h >> 29;
    h
}

/// Feature key for template `t` over one value. Keys are never 0 (0 marks an empty slot).
#[inline]
pub(crate) fn key1(t: u32, a: u64) -> u64 {
    finalise(u64::from(t).wrapping_mul(K1) ^ a) | 1
}

/// Feature key for template `t` over two values (order matters).
#[inline]
pub(crate) fn key2(t: u32, a: u64, b: u64) -> u64 {
    key1(t, a.rotate_left(23) ^ b.wrapping_mul(K1))
}

/// Feature key for template `t` over three values.
#[inline]
pub(crate) fn key3(t: u32, a: u64, b: u64, c: u64) -> u64 {
    key2(t, a.rotate_left(41) ^ b.wrapping_mul(K2), c)
}

/// Deterministic xorshift generator for shuffling and exploration during training.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(K1) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform float in [0, 1).
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Training-time weights. Averaging uses the "accumulate c * delta" trick so that each update
/// touches only the rows of the active features.
pub(crate) struct Trainer {
    classes: usize,
    /// Per feature: `classes` current weights followed by `classes` accumulated c*delta.
    rows: HashMap<u64, Vec<f64>>,
    instances: f64,
}

impl Trainer {
    pub(crate) fn new(classes: usize) -> Trainer {
        Trainer {
            classes,
            rows: HashMap::new(),
            instances: 1.0,
        }
    }

    /// Current (non-averaged) scores of every class.
    pub(crate) fn scores(&self, feats: &[u64], out: &mut [f64]) {
        out.iter_mut().for_each(|s| *s = 0.0);
        for f in feats {
            if let Some(row) = self.rows.get(f) {
                for (s, w) in out.iter_mut().zip(&row[..self.classes]) {
                    *s += w;
                }
            }
        }
    }

    /// Call once per training instance, whether or not it updates.
    pub(crate) fn tick(&mut self) {
        self.instances += 1.0;
    }

    /// Standard perceptron update: reward `truth`, penalise `guess`.
    pub(crate) fn update(&mut self, feats: &[u64], truth: usize, guess: usize) {
        if truth == guess {
            return;
        }
        let c = self.instances;
        let n = self.classes;
        for f in feats {
            let row = self.rows.entry(*f).or_insert_with(|| vec![0.0; 2 * n]);
            row[truth] += 1.0;
            row[n + truth] += c;
            row[guess] -= 1.0;
            row[n + guess] -= c;
        }
    }

    /// Averages, keeps the `max_rows` rows with the largest weights and quantises them.
    /// Quantisation is logarithmic (sign plus a 7-bit exponent step of [`RATIO`]), so small
    /// and large weights keep the same relative precision in one byte.
    pub(crate) fn finish(self, max_rows: usize) -> Model {
        let n = self.classes;
        let c = self.instances;
        let mut merged: HashMap<u32, Vec<f32>> = HashMap::new();
        for (k, row) in self.rows {
            let slot = merged.entry(fold_key(k)).or_insert_with(|| vec![0.0; n]);
            for (i, s) in slot.iter_mut().enumerate() {
                *s += (row[i] - row[n + i] / c) as f32;
            }
        }
        let peak = |row: &[f32]| row.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let mut ranked: Vec<(u32, Vec<f32>)> = merged.into_iter().collect();
        // Largest rows first; the key breaks ties so the result is deterministic.
        ranked.sort_unstable_by(|a, b| peak(&b.1).total_cmp(&peak(&a.1)).then(a.0.cmp(&b.0)));
        ranked.truncate(max_rows);
        let top = ranked.first().map_or(1.0, |(_, r)| peak(r)).max(f32::MIN_POSITIVE);
        let mut entries: Vec<(u32, Vec<u8>)> = ranked
            .into_iter()
            .map(|(k, row)| (k, row.iter().map(|w| encode(*w, top)).collect()))
            .collect();
        entries.sort_unstable_by_key(|(k, _)| *k);
        let keys: Vec<u32> = entries.iter().map(|(k, _)| *k).collect();
        let counts: Vec<u32> = entries
            .iter()
            .map(|(_, row)| row.iter().filter(|c| **c != 0).count() as u32)
            .collect();
        let pairs: Vec<(u8, u8)> = entries
            .iter()
            .flat_map(|(_, row)| {
                row.iter()
                    .enumerate()
                    .filter(|(_, c)| **c != 0)
                    .map(|(class, c)| (class as u8, *c))
            })
            .collect();
        Model::build(n, top, &keys, &counts, pairs)
    }
}

/// Ratio between consecutive quantisation levels.
const RATIO: f32 = 1.1;

fn encode(w: f32, top: f32) -> u8 {
    if w == 0.0 {
        return 0;
    }
    let level = 127.0 + (w.abs() / top).ln() / RATIO.ln();
    if level < 0.5 {
        return 0;
    }
    let q = level.round().clamp(1.0, 127.0) as u8;
    if w < 0.0 {
        q | 0x80
    } else {
        q
    }
}

fn decode_table(top: f32) -> [f32; 256] {
    std::array::from_fn(|b| {
        let q = (b & 0x7f) as i32;
        if q == 0 {
            0.0
        } else {
            let v = top * RATIO.powi(q - 127);
            if b & 0x80 != 0 {
                -v
            } else {
                v
            }
        }
    })
}

/// Feature keys are stored as 32 bits; the few collisions among a model's rows are merged.
#[inline]
fn fold_key(k: u64) -> u32 {
    ((k ^ (k >> 32)) as u32) | 1
}

/// Compact inference model: an open-addressing table from feature key to a run of sparse
/// `(class, weight)` entries. Most feature rows touch only a few classes, so sparse rows cut
/// both the memory footprint and the additions per lookup.
pub(crate) struct Model {
    classes: usize,
    top: f32,
    /// Per slot: key (0 = empty), first entry, entry count.
    slots: Vec<[u32; 3]>,
    /// `(class, quantised weight)` pairs.
    entries: Vec<(u8, u8)>,
    /// Number of feature rows.
    rows: usize,
    lut: [f32; 256],
}

impl Model {
    /// A model with no weights: every class scores zero.
    pub(crate) fn empty(classes: usize) -> Model {
        Model::build(classes, 1.0, &[], &[], Vec::new())
    }

    /// `keys` are unique and ascending; row `i` owns the next `counts[i]` of `entries`.
    fn build(classes: usize, top: f32, keys: &[u32], counts: &[u32], entries: Vec<(u8, u8)>) -> Model {
        // Load factor about 3/4: the slot array stays small and cache-resident.
        let cap = (keys.len() + keys.len() / 3 + 1).max(2);
        let mut slots = vec![[0u32; 3]; cap];
        let mut start = 0u32;
        for (&k, &len) in keys.iter().zip(counts) {
            let mut i = Self::home(k, cap);
            while slots[i][0] != 0 && slots[i][0] != k {
                i = if i + 1 == cap { 0 } else { i + 1 };
            }
            if slots[i][0] == 0 {
                slots[i] = [k, start, len];
            }
            start += len;
        }
        Model {
            classes,
            top,
            slots,
            entries,
            rows: keys.len(),
            lut: decode_table(top),
        }
    }

    /// Maps a key onto `0..cap` by multiply-shift (the key is already a hash).
    #[inline]
    fn home(k: u32, cap: usize) -> usize {
        ((u64::from(k) * cap as u64) >> 32) as usize
    }

    /// Number of output classes.
    pub(crate) fn classes(&self) -> usize {
        self.classes
    }

    /// Number of stored feature rows.
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// Scores of every class.
    ///
    /// Lookups are cache-miss bound, so they run in passes over a block of features: first
    /// all home slots are loaded (independent loads the CPU overlaps), then collisions are
    /// resolved, then the weight runs are read.
    pub(crate) fn scores(&self, feats: &[u64], out: &mut [f32]) {
        const BLOCK: usize = 64;
        out.iter_mut().for_each(|s| *s = 0.0);
        let cap = self.slots.len();
        let mut keys = [0u32; BLOCK];
        let mut home = [[0u32; 3]; BLOCK];
        let mut runs = [(0u32, 0u32); BLOCK];
        let mut first = [(0u8, 0u8); BLOCK];
        for block in feats.chunks(BLOCK) {
            let m = block.len();
            for j in 0..m {
                keys[j] = fold_key(block[j]);
                home[j] = self.slots[Self::home(keys[j], cap)];
            }
            for j in 0..m {
                let k = keys[j];
                let mut slot = home[j];
                let mut i = Self::home(k, cap);
                while slot[0] != k && slot[0] != 0 {
                    i = if i + 1 == cap { 0 } else { i + 1 };
                    slot = self.slots[i];
                }
                runs[j] = if slot[0] == k { (slot[1], slot[2]) } else { (0, 0) };
            }
            for j in 0..m {
                let (start, len) = runs[j];
                if len > 0 {
                    first[j] = self.entries[start as usize];
                }
            }
            for &(start, len) in &runs[..m] {
                let run = &self.entries[start as usize..(start + len) as usize];
                for &(class, code) in run {
                    if let Some(s) = out.get_mut(usize::from(class)) {
                        *s += self.lut[usize::from(code)];
                    }
                }
            }
        }
        // `first` only exists to issue the entry loads early.
        std::hint::black_box(&first);
    }

    /// Serialises as `classes u32, rows u32, top f32`, the sorted keys as LEB128 deltas, then
    /// per row in key order its entry count (one byte) and `(class, weight)` byte pairs.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.classes as u32).to_le_bytes());
        out.extend_from_slice(&(self.rows as u32).to_le_bytes());
        out.extend_from_slice(&self.top.to_le_bytes());
        let mut slots: Vec<[u32; 3]> = self.slots.iter().copied().filter(|s| s[0] != 0).collect();
        slots.sort_unstable_by_key(|s| s[0]);
        let mut last = 0u32;
        for s in &slots {
            let mut d = s[0] - last;
            last = s[0];
            loop {
                let byte = (d & 0x7f) as u8;
                d >>= 7;
                if d == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
        }
        for [_, start, len] in slots {
            out.push(len as u8);
            for &(class, code) in &self.entries[start as usize..(start + len) as usize] {
                out.extend_from_slice(&[class, code]);
            }
        }
    }

    /// Reads what [`Model::write`] produced, advancing `input`.
    pub(crate) fn read(input: &mut &[u8]) -> Result<Model, NlpError> {
        let classes = read_u32(input)? as usize;
        let rows = read_u32(input)? as usize;
        let top = f32::from_bits(read_u32(input)?);
        if classes == 0 || classes > 255 || !top.is_finite() || top <= 0.0 {
            return Err(NlpError::Format("bad model header".into()));
        }
        if rows > input.len() {
            return Err(NlpError::Format("bad row count".into()));
        }
        let truncated = || NlpError::Format("truncated model".into());
        let mut bytes = input.iter().copied();
        let mut keys = Vec::with_capacity(rows);
        let mut last = 0u32;
        for _ in 0..rows {
            let mut d = 0u32;
            let mut shift = 0;
            loop {
                let byte = bytes.next().ok_or_else(truncated)?;
                d |= u32::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            last = last.wrapping_add(d);
            keys.push(last);
        }
        let mut counts = Vec::with_capacity(rows);
        let mut entries = Vec::new();
        for _ in 0..rows {
            let len = bytes.next().ok_or_else(truncated)?;
            counts.push(u32::from(len));
            for _ in 0..len {
                let class = bytes.next().ok_or_else(truncated)?;
                let code = bytes.next().ok_or_else(truncated)?;
                if usize::from(class) >= classes {
                    return Err(NlpError::Format("class out of range".into()));
                }
                entries.push((class, code));
            }
        }
        let used = input.len() - bytes.len();
        *input = &input[used..];
        Ok(Model::build(classes, top, &keys, &counts, entries))
    }
}

pub(crate) fn read_u32(input: &mut &[u8]) -> Result<u32, NlpError> {
    if input.len() < 4 {
        return Err(NlpError::Format("truncated input".into()));
    }
    let (head, rest) = input.split_at(4);
    *input = rest;
    Ok(u32::from_le_bytes([head[0], head[1], head[2], head[3]]))
}

/// Index of the highest score among `allowed` classes (first wins ties).
pub(crate) fn argmax_allowed<T: PartialOrd + Copy>(scores: &[T], allowed: impl Fn(usize) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, s) in scores.iter().enumerate() {
        if allowed(i) && best.is_none_or(|b| *s > scores[b]) {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_separable_problem_and_round_trips() {
        let mut t = Trainer::new(3);
        let data = [(key1(1, 10), 0usize), (key1(1, 20), 1), (key1(1, 30), 2)];
        for _ in 0..5 {
            for (f, y) in data {
                let mut s = [0.0; 3];
                t.scores(&[f], &mut s);
                let g = argmax_allowed(&s, |_| true).unwrap();
                t.update(&[f], y, g);
                t.tick();
            }
        }
        let m = t.finish(100);
        let mut bytes = Vec::new();
        m.write(&mut bytes);
        let mut input = bytes.as_slice();
        let back = Model::read(&mut input).unwrap();
        assert!(input.is_empty());
        for (f, y) in data {
            let mut s = [0.0; 3];
            back.scores(&[f, key1(9, 9)], &mut s);
            assert_eq!(argmax_allowed(&s, |_| true), Some(y));
        }
    }

    #[test]
    fn rejects_truncated_input() {
        let mut input: &[u8] = &[1, 0, 0, 0, 5, 0, 0, 0];
        assert!(Model::read(&mut input).is_err());
    }
}
