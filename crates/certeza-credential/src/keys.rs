//! Signing and verification keys, COSE algorithms and key identifiers.

use crate::error::{Error, Result};
use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest, Sha256};

/// A COSE signature algorithm this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// EdDSA with Ed25519 (COSE -8).
    EdDsa,
    /// ECDSA with P-256 and SHA-256, raw `r || s` signatures (COSE -7).
    Es256,
    /// RSASSA-PSS with SHA-256 (COSE -37); verification only, for EU DCC signers.
    Ps256,
}

impl Algorithm {
    /// The COSE algorithm identifier.
    #[must_use]
    pub fn cose_id(self) -> i64 {
        match self {
            Algorithm::EdDsa => -8,
            Algorithm::Es256 => -7,
            Algorithm::Ps256 => -37,
        }
    }

    /// The algorithm for a COSE identifier.
    #[must_use]
    pub fn from_cose_id(id: i64) -> Option<Self> {
        match id {
            -8 => Some(Algorithm::EdDsa),
            -7 => Some(Algorithm::Es256),
            -37 => Some(Algorithm::Ps256),
            _ => None,
        }
    }

    /// A stable lowercase name (`eddsa`, `es256`, `ps256`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EdDsa => "eddsa",
            Algorithm::Es256 => "es256",
            Algorithm::Ps256 => "ps256",
        }
    }
}

/// A key identifier: the first 8 bytes of a SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(pub [u8; 8]);

impl Kid {
    /// The kid of arbitrary bytes: the first 8 bytes of their SHA-256.
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut kid = [0u8; 8];
        kid.copy_from_slice(&digest[..8]);
        Kid(kid)
    }

    /// Lowercase hexadecimal.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl core::fmt::Debug for Kid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Kid({})", self.to_hex())
    }
}

/// Lowercase hexadecimal of bytes.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A public key that can verify signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// An Ed25519 key.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// A P-256 key.
    P256(p256::ecdsa::VerifyingKey),
    /// An RSA key (PS256 verification only).
    Rsa(Box<rsa::RsaPublicKey>),
}

impl PublicKey {
    /// Parses a raw key: 32 bytes for Ed25519, or a SEC1 point (33 or 65 bytes) for P-256.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] when the bytes are not a valid key of that algorithm.
    pub fn from_raw(alg: Algorithm, bytes: &[u8]) -> Result<Self> {
        match alg {
            Algorithm::EdDsa => {
                let arr: [u8; 32] = bytes.try_into().map_err(|_| Error::Key("length"))?;
                ed25519_dalek::VerifyingKey::from_bytes(&arr)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| Error::Key("not an Ed25519 point"))
            }
            Algorithm::Es256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                .map(PublicKey::P256)
                .map_err(|_| Error::Key("not a P-256 point")),
            Algorithm::Ps256 => Err(Error::Key("RSA keys come from certificates")),
        }
    }

    /// The algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Ed25519(_) => Algorithm::EdDsa,
            PublicKey::P256(_) => Algorithm::Es256,
            PublicKey::Rsa(_) => Algorithm::Ps256,
        }
    }

    /// The raw encoding used for Certeza kids and trust lists: 32 bytes for Ed25519, the
    /// uncompressed SEC1 point (65 bytes) for P-256; empty for RSA.
    #[must_use]
    pub fn to_raw(&self) -> Vec<u8> {
        match self {
            PublicKey::Ed25519(k) => k.to_bytes().to_vec(),
            PublicKey::P256(k) => k.to_encoded_point(false).as_bytes().to_vec(),
            PublicKey::Rsa(_) => Vec::new(),
        }
    }

    /// The Certeza kid: the first 8 bytes of SHA-256 of [`PublicKey::to_raw`].
    #[must_use]
    pub fn kid(&self) -> Kid {
        Kid::of(&self.to_raw())
    }

    /// Verifies a signature over `message` with this key's algorithm.
    ///
    /// # Errors
    ///
    /// [`Error::Signature`] when it does not verify or is malformed.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        match self {
            PublicKey::Ed25519(k) => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| Error::Signature)?;
                k.verify(message, &sig).map_err(|_| Error::Signature)
            }
            PublicKey::P256(k) => {
                let sig = p256::ecdsa::Signature::from_slice(signature).map_err(|_| Error::Signature)?;
                k.verify(message, &sig).map_err(|_| Error::Signature)
            }
            PublicKey::Rsa(k) => {
                use rsa::signature::Verifier as _;
                let vk = rsa::pss::VerifyingKey::<Sha256>::new((**k).clone());
                let sig = rsa::pss::Signature::try_from(signature).map_err(|_| Error::Signature)?;
                vk.verify(message, &sig).map_err(|_| Error::Signature)
            }
        }
    }
}

/// A private key that signs credentials, status lists and trust lists.
///
/// Its `Debug` output shows only the algorithm and kid.
#[derive(Clone)]
pub struct IssuerKey {
    inner: SigningInner,
    issuer: String,
}

#[derive(Clone)]
enum SigningInner {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

impl core::fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("alg", &self.algorithm())
            .field("kid", &self.kid())
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl IssuerKey {
    /// An Ed25519 key from its 32-byte seed, for the named issuer (the CWT `iss`).
    #[must_use]
    pub fn ed25519(seed: &[u8; 32], issuer: &str) -> Self {
        IssuerKey {
            inner: SigningInner::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed)),
            issuer: issuer.to_owned(),
        }
    }

    /// A P-256 key from its 32-byte scalar, for the named issuer.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] when the scalar is zero or not below the group order.
    pub fn p256(scalar: &[u8; 32], issuer: &str) -> Result<Self> {
        let sk = p256::ecdsa::SigningKey::from_slice(scalar).map_err(|_| Error::Key("invalid P-256 scalar"))?;
        Ok(IssuerKey { inner: SigningInner::P256(sk), issuer: issuer.to_owned() })
    }

    /// The issuer name written into `iss`.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            SigningInner::Ed25519(_) => Algorithm::EdDsa,
            SigningInner::P256(_) => Algorithm::Es256,
        }
    }

    /// The public half.
    #[must_use]
    pub fn public(&self) -> PublicKey {
        match &self.inner {
            SigningInner::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            SigningInner::P256(k) => PublicKey::P256(*k.verifying_key()),
        }
    }

    /// The kid of the public half.
    #[must_use]
    pub fn kid(&self) -> Kid {
        self.public().kid()
    }

    /// Signs a message (ES256 signatures are deterministic per RFC 6979, raw `r || s`).
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.inner {
            SigningInner::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
            SigningInner::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
        }
    }
}
