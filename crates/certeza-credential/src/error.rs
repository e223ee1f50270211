//! The crate's single error type.

/// Everything that can go wrong while encoding, decoding, signing or verifying.
///
/// Messages never contain the rejected input, so they are safe to log and to show.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The string does not start with a known context prefix (`CZ1:` or `HC1:`).
    #[error("unknown or missing context prefix")]
    Prefix,
    /// The Base45 text is invalid.
    #[error("invalid Base45: {0}")]
    Base45(&'static str),
    /// The zlib stream is invalid, truncated, followed by extra bytes or too large.
    #[error("invalid zlib stream: {0}")]
    Compression(&'static str),
    /// The CBOR data is invalid or not fully consumed.
    #[error("invalid CBOR: {0}")]
    Cbor(&'static str),
    /// The COSE structure is invalid.
    #[error("invalid COSE structure: {0}")]
    Cose(&'static str),
    /// The CWT claims or the document body are invalid.
    #[error("invalid claims: {0}")]
    Claims(&'static str),
    /// The algorithm is not supported, or does not match the key.
    #[error("unsupported or mismatched algorithm")]
    Algorithm,
    /// A key is malformed.
    #[error("invalid key: {0}")]
    Key(&'static str),
    /// An X.509 certificate or PEM file is malformed.
    #[error("invalid certificate: {0}")]
    Certificate(&'static str),
    /// A signature did not verify.
    #[error("signature verification failed")]
    Signature,
    /// No trusted key matches.
    #[error("no trusted key for this object")]
    UnknownKey,
    /// A signed list (trust list or status list) is expired or not yet valid.
    #[error("{0} is outside its validity period")]
    Stale(&'static str),
    /// Encryption or decryption of the sealed claim failed.
    #[error("sealed claim: {0}")]
    Sealed(&'static str),
    /// A status list is malformed or an index is out of range.
    #[error("status list: {0}")]
    StatusList(&'static str),
    /// A trust list is malformed.
    #[error("trust list: {0}")]
    TrustList(&'static str),
    /// A document cannot be encoded.
    #[error("invalid document: {0}")]
    Document(&'static str),
    /// An image cannot be read or written.
    #[error("image: {0}")]
    Image(&'static str),
    /// No QR code was found in the image.
    #[error("no readable QR code in the image")]
    QrNotFound,
    /// The text does not fit in a QR code.
    #[error("the text does not fit in a QR code")]
    QrTooLong,
    /// A timestamp could not be parsed.
    #[error("invalid timestamp")]
    Time,
}

/// The crate's result type.
pub type Result<T> = core::result::Result<T, Error>;
