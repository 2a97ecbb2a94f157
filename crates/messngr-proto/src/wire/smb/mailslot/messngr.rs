//! The body of a `\MAILSLOT\MESSNGR` write (mailslot-datagrams.md §5).

use crate::wire::codec::Writer;
use crate::wire::{Emit, Error, Result};

/// A Messenger message as WinPopup and `net send` put it in a mailslot:
/// three NUL-separated byte strings in the sender's OEM code page, with no
/// header and no length field.
///
/// ```text
/// From NUL To NUL Text [NUL]
/// ```
///
/// Decoding the bytes (code page, 0x14 and CR LF line breaks) is
/// [`crate::text`]'s business; this type only splits and joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessngrPayload<'a> {
    /// From: the sender (user or computer name).
    pub from: &'a [u8],
    /// To: the recipient name as text (no suffix or padding); a domain or
    /// workgroup name for a group message.
    pub to: &'a [u8],
    /// Text: the message body.
    pub text: &'a [u8],
    /// Whether Text ends with a NUL. Every known sender writes one, but a
    /// Delphi WinPopup clone omits it; kept so that both re-emit as received.
    pub text_terminated: bool,
}

impl<'a> MessngrPayload<'a> {
    /// A payload with a terminating NUL after the text (what messngr sends).
    pub const fn new(from: &'a [u8], to: &'a [u8], text: &'a [u8]) -> Self {
        Self {
            from,
            to,
            text,
            text_terminated: true,
        }
    }

    /// Splits the mailslot data at its first two NULs; Text runs to the next
    /// NUL or to the end. Fewer than two NULs is `Malformed` (discard).
    /// Bytes after the NUL that ends Text are ignored and not re-emitted.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let mut parts = data.splitn(3, |&b| b == 0);
        let (Some(from), Some(to), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::Malformed("MESSNGR payload with fewer than two NULs"));
        };
        let (text, text_terminated) = match rest.iter().position(|&b| b == 0) {
            Some(end) => (rest.get(..end).unwrap_or(rest), true),
            None => (rest, false),
        };
        Ok(Self {
            from,
            to,
            text,
            text_terminated,
        })
    }
}

impl Emit for MessngrPayload<'_> {
    fn buffer_len(&self) -> usize {
        self.from.len() + self.to.len() + self.text.len() + 2 + usize::from(self.text_terminated)
    }

    /// Writes From, To and Text with their NULs. A NUL inside any of them
    /// is refused (`Malformed`): it would split the fields differently.
    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if [self.from, self.to, self.text]
            .iter()
            .any(|s| s.contains(&0))
        {
            return Err(Error::Malformed("NUL inside a MESSNGR From, To or Text"));
        }
        let mut w = Writer::new(buf);
        w.bytes(self.from)?;
        w.u8(0)?;
        w.bytes(self.to)?;
        w.u8(0)?;
        w.bytes(self.text)?;
        if self.text_terminated {
            w.u8(0)?;
        }
        Ok(w.position())
    }
}
