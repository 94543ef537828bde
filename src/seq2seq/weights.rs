//! Streaming safetensors reader: tensors are read from disk one at a time (through a buffer
//! of that tensor's size, converted to the run's precision and device), so loading peaks at
//! the model's size plus one tensor. rust-bert built every layer with random weights and then
//! copied a second full set over them.

use std::{
    collections::HashMap,
    fs::File,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

use safetensors::{
    tensor::{Metadata, TensorInfo},
    Dtype,
};
use tch::{Device, Kind, Tensor};

use super::Seq2SeqError;
use crate::models::Quantization;

/// The tensors of one model.safetensors file, read on demand.
pub struct Weights {
    path: PathBuf,
    file: File,
    /// Byte offset of the data section (after the length prefix and JSON header).
    data_start: u64,
    tensors: HashMap<String, TensorInfo>,
    device: Device,
    kind: Kind,
    quantization: Quantization,
}

impl Weights {
    /// Opens `path` and reads its header; floating-point tensors are converted to `kind`
    /// and placed on `device` as they are taken, and the layers that read them quantize
    /// their weights as `quantization` says.
    pub fn open(path: &Path, device: Device, kind: Kind, quantization: Quantization) -> Result<Weights, Seq2SeqError> {
        let bad = |reason: String| Seq2SeqError::Weights {
            path: path.into(),
            reason,
        };
        let file = File::open(path).map_err(|e| bad(e.to_string()))?;
        let file_len = file.metadata().map_err(|e| bad(e.to_string()))?.len();
        let mut prefix = [0u8; 8];
        file.read_exact_at(&mut prefix, 0)
            .map_err(|_| bad("shorter than a safetensors header".into()))?;
        let header_len = u64::from_le_bytes(prefix);
        // The format caps headers at 100 MB; anything larger is not a safetensors file.
        if header_len > 100_000_000 || 8 + header_len > file_len {
            return Err(bad(format!("header length {header_len} does not fit the file")));
        }
        let mut header = vec![0u8; header_len as usize];
        file.read_exact_at(&mut header, 8).map_err(|e| bad(e.to_string()))?;
        let metadata: Metadata = serde_json::from_slice(&header).map_err(|e| bad(format!("unreadable header: {e}")))?;
        let data_start = 8 + header_len;
        let mut tensors = HashMap::new();
        for (name, info) in metadata.tensors() {
            let (start, end) = info.data_offsets;
            let expected = info.shape.iter().product::<usize>() * info.dtype.size();
            if end < start || end - start != expected || data_start + end as u64 > file_len {
                return Err(bad(format!(
                    "tensor {name} has inconsistent offsets (truncated download?)"
                )));
            }
            tensors.insert(name, info.clone());
        }
        Ok(Weights {
            path: path.into(),
            file,
            data_start,
            tensors,
            device,
            kind,
            quantization,
        })
    }

    /// The precision and device tensors are converted to.
    pub fn placement(&self) -> (Kind, Device) {
        (self.kind, self.device)
    }

    /// Whether linear layers and embeddings read from here keep int8 weights.
    pub fn int8(&self) -> bool {
        self.quantization == Quantization::Int8
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Reads tensor `name`, converted to the model's precision and device.
    pub fn get(&self, name: &str) -> Result<Tensor, Seq2SeqError> {
        let info = self.tensors.get(name).ok_or_else(|| Seq2SeqError::MissingTensor {
            name: name.into(),
            path: self.path.clone(),
        })?;
        let (start, end) = info.data_offsets;
        let kind = match info.dtype {
            Dtype::F32 => Kind::Float,
            Dtype::F16 => Kind::Half,
            Dtype::BF16 => Kind::BFloat16,
            Dtype::F64 => Kind::Double,
            other => {
                return Err(Seq2SeqError::Weights {
                    path: self.path.clone(),
                    reason: format!("tensor {name} has unsupported type {other:?}"),
                })
            }
        };
        let mut bytes = vec![0u8; end - start];
        self.file
            .read_exact_at(&mut bytes, self.data_start + start as u64)
            .map_err(|e| Seq2SeqError::Weights {
                path: self.path.clone(),
                reason: format!("reading {name}: {e}"),
            })?;
        let size: Vec<i64> = info.shape.iter().map(|&d| d as i64).collect();
        let tensor = Tensor::f_from_data_size(&bytes, &size, kind)?;
        Ok(tensor.f_to_kind(self.kind)?.f_to_device(self.device)?)
    }

    /// The first of `names` the file has (tied weights are stored under one of several
    /// names depending on the exporter).
    pub fn first_of(&self, names: &[&str]) -> Result<Tensor, Seq2SeqError> {
        match names.iter().find(|name| self.contains(name)) {
            Some(name) => self.get(name),
            None => self.get(names[0]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, tensors: &[(&str, Tensor)]) -> PathBuf {
        let path = dir.join("model.safetensors");
        Tensor::write_safetensors(tensors, &path).unwrap();
        path
    }

    #[test]
    fn tensors_are_read_converted_and_placed() {
        let dir = tempfile::tempdir().unwrap();
        let half = Tensor::from_slice(&[1.5f32, -2.0, 0.25, 8.0])
            .view([2, 2])
            .to_kind(Kind::Half);
        let path = write(dir.path(), &[("a.weight", half)]);
        let weights = Weights::open(&path, Device::Cpu, Kind::Float, Quantization::None).unwrap();
        let a = weights.get("a.weight").unwrap();
        assert_eq!(a.kind(), Kind::Float);
        assert_eq!(a.size(), vec![2, 2]);
        assert_eq!(Vec::<f32>::try_from(a.view(-1)).unwrap(), vec![1.5, -2.0, 0.25, 8.0]);
        assert!(weights.contains("a.weight"));
        let tied = weights.first_of(&["lm_head.weight", "a.weight"]).unwrap();
        assert_eq!(tied.size(), vec![2, 2], "the first name the file has");
    }

    #[test]
    fn a_missing_tensor_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            &[("a.weight", Tensor::zeros([3], (Kind::Float, Device::Cpu)))],
        );
        let weights = Weights::open(&path, Device::Cpu, Kind::Float, Quantization::None).unwrap();
        let err = weights.get("model.shared.weight").unwrap_err().to_string();
        assert!(
            err.contains("model.shared.weight") && err.contains("architecture"),
            "{err}"
        );
    }

    #[test]
    fn a_truncated_file_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            &[("a.weight", Tensor::zeros([64], (Kind::Float, Device::Cpu)))],
        );
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        file.set_len(len - 16).unwrap();
        let err = Weights::open(&path, Device::Cpu, Kind::Float, Quantization::None)
            .err()
            .expect("truncated")
            .to_string();
        assert!(err.contains("truncated"), "{err}");
        std::fs::write(&path, b"not a model").unwrap();
        assert!(Weights::open(&path, Device::Cpu, Kind::Float, Quantization::None).is_err());
    }
}
