//! Frame authentication: HMAC-SHA256 truncated to 128 bits, with pre-shared
//! keys named by a one-byte key id so that keys can be rotated without a
//! flag day.
//!
//! Rotation: install the new key as a second key on every node
//! ([`Keyring::add`]), then make it the signing key everywhere
//! ([`Keyring::set_current`]), then remove the old one ([`Keyring::remove`]).
//! Throughout, every node accepts frames signed with either key.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Length of the authentication tag at the end of a signed frame: the first
/// 16 bytes of HMAC-SHA256.
pub const TAG_LEN: usize = 16;

enum_with_unknown! {
    /// The `auth` header field: how a frame is authenticated. Unknown codes
    /// are refused by `FrameRepr::parse` (`Malformed`): a receiver cannot
    /// tell where such a frame's tag ends.
    pub enum AuthCode(u8) {
        /// No tag.
        None = 0,
        /// HMAC-SHA256 truncated to [`TAG_LEN`] bytes, at the end of the
        /// frame.
        HmacSha256 = 1,
    }
}
/// The longest secret a [`Key`] holds (SHA-256's block size: longer keys
/// would only be hashed down by HMAC).
pub const MAX_KEY_LEN: usize = 64;
/// The shortest secret a [`Key`] accepts: 16 bytes, 128 bits.
pub const MIN_KEY_LEN: usize = 16;
/// How many keys a [`Keyring`] holds: the current one and, during a rotation,
/// one other.
pub const MAX_KEYS: usize = 2;

type HmacSha256 = Hmac<Sha256>;

/// A pre-shared secret and the id that names it on the wire.
///
/// `Debug` shows the id only, never the secret, so a key can sit in a
/// configuration struct that is logged.
#[derive(Clone)]
pub struct Key {
    id: u8,
    /// The HMAC state after absorbing the key (its inner and outer pads):
    /// cloning it per frame saves two of the four SHA-256 compressions a
    /// fresh `new_from_slice` would cost.
    keyed: HmacSha256,
}

impl Key {
    /// A key named `id` with the given secret, or `None` if the secret is
    /// shorter than [`MIN_KEY_LEN`] (16 bytes: at least 128 bits; an empty
    /// or short secret is a configuration mistake, not a choice) or longer
    /// than [`MAX_KEY_LEN`].
    #[must_use]
    pub fn new(id: u8, secret: &[u8]) -> Option<Key> {
        if secret.len() < MIN_KEY_LEN {
            return None;
        }
        if secret.len() > MAX_KEY_LEN {
            return None;
        }
        let keyed = <HmacSha256 as Mac>::new_from_slice(secret).ok()?;
        Some(Key { id, keyed })
    }

    /// The id that names this key in the frames it signs.
    #[must_use]
    pub fn id(&self) -> u8 {
        self.id
    }

    fn mac(&self) -> HmacSha256 {
        self.keyed.clone()
    }
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why [`Keyring::add`] refused a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddKeyError {
    /// The ring already holds a key with this id.
    DuplicateId(u8),
    /// The ring holds [`MAX_KEYS`] keys already.
    Full,
}

impl core::fmt::Display for AddKeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AddKeyError::DuplicateId(id) => write!(f, "a key with id {id} is already installed"),
            AddKeyError::Full => write!(f, "at most {MAX_KEYS} keys can be installed at once"),
        }
    }
}

/// So that a host's key loading can return it as a source error.
impl core::error::Error for AddKeyError {}

/// The keys a node accepts, and the one it signs with.
///
/// There is always a current key; at most [`MAX_KEYS`] keys are held in all.
/// Frames signed with any held key are accepted; frames this node sends are
/// signed with the current key.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: Key,
    others: heapless::Vec<Key, { MAX_KEYS - 1 }>,
}

impl Keyring {
    /// A keyring holding `current` only, signing with it.
    #[must_use]
    pub fn new(current: Key) -> Keyring {
        Keyring {
            current,
            others: heapless::Vec::new(),
        }
    }

    /// Accepts frames signed with `key` too (the first step of a rotation).
    /// Refused if its id is already in use or the ring is full.
    pub fn add(&mut self, key: Key) -> Result<(), AddKeyError> {
        if self.get(key.id).is_some() {
            return Err(AddKeyError::DuplicateId(key.id));
        }
        self.others.push(key).map_err(|_| AddKeyError::Full)
    }

    /// Signs with the key named `id` from now on. Returns `false`, changing
    /// nothing, if there is no such key.
    #[must_use = "false means the ring still signs with the old key"]
    pub fn set_current(&mut self, id: u8) -> bool {
        if self.current.id == id {
            return true;
        }
        match self.others.iter_mut().find(|k| k.id == id) {
            Some(key) => {
                core::mem::swap(key, &mut self.current);
                true
            }
            None => false,
        }
    }

    /// Stops accepting the key named `id` and returns it (the last step of a
    /// rotation). The current key cannot be removed: `None`.
    pub fn remove(&mut self, id: u8) -> Option<Key> {
        let pos = self.others.iter().position(|k| k.id == id)?;
        Some(self.others.swap_remove(pos))
    }

    /// The key named `id`, if it is held.
    #[must_use]
    pub fn get(&self, id: u8) -> Option<&Key> {
        if self.current.id == id {
            Some(&self.current)
        } else {
            self.others.iter().find(|k| k.id == id)
        }
    }

    /// The key frames are signed with.
    #[must_use]
    pub fn current(&self) -> &Key {
        &self.current
    }

    /// Every held key, the current one first.
    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        core::iter::once(&self.current).chain(self.others.iter())
    }
}

/// The tag of `data` under `key`: HMAC-SHA256 truncated to its first
/// [`TAG_LEN`] bytes.
pub(crate) fn sign(key: &Key, data: &[u8]) -> [u8; TAG_LEN] {
    let mut tag = [0u8; TAG_LEN];
    let mut mac = key.mac();
    mac.update(data);
    let full = mac.finalize().into_bytes();
    for (t, b) in tag.iter_mut().zip(full.iter()) {
        *t = *b;
    }
    tag
}

/// Whether `tag` is the tag of `data` under `key`, compared in constant
/// time. A tag of any length other than [`TAG_LEN`] is refused.
pub(crate) fn verify(key: &Key, data: &[u8], tag: &[u8]) -> bool {
    if tag.len() != TAG_LEN {
        return false;
    }
    let mut mac = key.mac();
    mac.update(data);
    mac.verify_truncated_left(tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_A: &[u8] = b"0123456789abcdef";
    const SECRET_B: &[u8] = b"fedcba9876543210fedcba9876543210";

    #[test]
    fn key_length_limits() {
        assert!(Key::new(1, b"").is_none());
        assert!(Key::new(1, &[7u8; MIN_KEY_LEN - 1]).is_none());
        assert!(Key::new(1, &[7u8; MIN_KEY_LEN]).is_some());
        assert!(Key::new(1, &[7u8; MAX_KEY_LEN]).is_some());
        assert!(Key::new(1, &[7u8; MAX_KEY_LEN + 1]).is_none());
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = Key::new(9, b"supersecretvalue-supersecret").unwrap();
        let shown = std::format!("{key:?}");
        assert!(shown.contains('9'));
        assert!(!shown.contains("supersecret"));
        let ring = Keyring::new(key);
        assert!(!std::format!("{ring:?}").contains("supersecret"));
    }

    #[test]
    fn rotation() {
        let mut ring = Keyring::new(Key::new(1, SECRET_A).unwrap());
        assert_eq!(ring.current().id(), 1);
        // Same id twice is refused.
        assert!(ring.add(Key::new(1, SECRET_B).unwrap()).is_err());
        assert!(ring.add(Key::new(2, SECRET_B).unwrap()).is_ok());
        // Full.
        assert_eq!(
            ring.add(Key::new(3, SECRET_B).unwrap()).unwrap_err(),
            AddKeyError::Full
        );
        assert!(ring.get(1).is_some() && ring.get(2).is_some() && ring.get(3).is_none());
        assert!(!ring.set_current(3));
        assert!(ring.set_current(2));
        assert_eq!(ring.current().id(), 2);
        assert!(ring.get(1).is_some());
        // The current key cannot be removed.
        assert!(ring.remove(2).is_none());
        assert_eq!(ring.remove(1).map(|k| k.id()), Some(1));
        assert!(ring.get(1).is_none());
        assert_eq!(ring.iter().count(), 1);
    }

    #[test]
    fn hmac_sha256_known_answer() {
        // RFC 4231 test case 2 uses a 4-byte key, below our minimum; test
        // case 6 uses a 131-byte key, above it. Use test case 1's data with
        // a 20-byte key of 0x0b (RFC 4231 §4.2), which is in range.
        let key = Key::new(0, &[0x0b; 20]).unwrap();
        let tag = sign(&key, b"Hi There");
        let expected: [u8; 16] = [
            0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53, 0x5c, 0xa8, 0xaf, 0xce, 0xaf, 0x0b,
            0xf1, 0x2b,
        ];
        assert_eq!(tag, expected);
        assert!(verify(&key, b"Hi There", &expected));
        assert!(!verify(&key, b"Hi there", &expected));
        assert!(!verify(&key, b"Hi There", &expected[..15]));
        assert!(!verify(&key, b"Hi There", &[]));
        let other = Key::new(0, &[0x0c; 20]).unwrap();
        assert!(!verify(&other, b"Hi There", &expected));
    }
}
