//! Raw instruction encoding: the 64-bit slot of RFC 9669 section 3.
//!
//! This module owns only the bit layout (opcode, dst, src, offset, imm) and the
//! byte order of a program image. What an opcode *means* lives in [`crate::isa`].

use std::fmt;

/// One 64-bit instruction slot. `lddw` occupies two slots; the second slot
/// carries the upper 32 bits of the immediate in `imm` and zeros elsewhere.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    pub opc: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub const SIZE: usize = 8;

    pub const fn new(opc: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn {
            opc,
            dst,
            src,
            off,
            imm,
        }
    }

    /// The second slot of a two-slot instruction (`lddw`): the upper 32 bits
    /// of the immediate in `imm`, every other field zero.
    pub const fn second_slot(imm_hi: i32) -> Self {
        Insn::new(0, 0, 0, 0, imm_hi)
    }

    /// Is this a well-formed second slot (every field but `imm` zero)?
    pub const fn is_second_slot(self) -> bool {
        self.opc == 0 && self.dst == 0 && self.src == 0 && self.off == 0
    }

    /// Decode one little-endian slot (the byte order clang's `bpfel` target and
    /// the conformance suite use).
    pub fn from_bytes(b: [u8; 8]) -> Self {
        Insn {
            opc: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    pub fn to_bytes(self) -> [u8; 8] {
        let o = self.off.to_le_bytes();
        let i = self.imm.to_le_bytes();
        [
            self.opc,
            (self.dst & 0x0f) | (self.src << 4),
            o[0],
            o[1],
            i[0],
            i[1],
            i[2],
            i[3],
        ]
    }

    /// The slot as the 64-bit word the hardware's instruction memory stores
    /// (byte 0 of the little-endian image in bits 7:0).
    pub fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }

    pub fn from_u64(w: u64) -> Self {
        Self::from_bytes(w.to_le_bytes())
    }

    /// Instruction class, the low three bits of the opcode.
    pub const fn class(self) -> u8 {
        self.opc & 0x07
    }
}

impl fmt::Debug for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Insn{{opc:{:#04x} dst:{} src:{} off:{} imm:{:#x}}}",
            self.opc, self.dst, self.src, self.off, self.imm
        )
    }
}

/// Errors reading a raw program image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("program image is {0} bytes, not a multiple of 8 (one instruction is 8 bytes)")]
    Length(usize),
    #[error("program image is empty")]
    Empty,
}

/// Split a little-endian byte image into instruction slots.
pub fn from_image(bytes: &[u8]) -> Result<Vec<Insn>, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if !bytes.len().is_multiple_of(Insn::SIZE) {
        return Err(ImageError::Length(bytes.len()));
    }
    Ok(bytes
        .chunks_exact(Insn::SIZE)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            Insn::from_bytes(b)
        })
        .collect())
}

/// Serialize slots to the little-endian byte image.
pub fn to_image(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.to_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        let i = Insn::new(0x7b, 10, 1, -8, 0x1234_5678);
        assert_eq!(Insn::from_bytes(i.to_bytes()), i);
        assert_eq!(
            i.to_bytes(),
            [0x7b, 0x1a, 0xf8, 0xff, 0x78, 0x56, 0x34, 0x12]
        );
        assert_eq!(Insn::from_u64(i.to_u64()), i);
    }

    #[test]
    fn image_errors() {
        assert_eq!(from_image(&[]), Err(ImageError::Empty));
        assert_eq!(from_image(&[0; 9]), Err(ImageError::Length(9)));
    }
}
