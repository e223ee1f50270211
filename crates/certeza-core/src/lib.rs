//! Domain types and validation rules of Certeza, the digital-trust
//! infrastructure for Mexican government services.
//!
//! This crate is the shared vocabulary of the workspace. It defines the
//! identifiers that appear in Mexican identity documents and their rules:
//!
//! * [`Curp`]: the population registry key, with [`curp_check_digit`] and
//!   the simplified RENAPO construction in [`build_curp`];
//! * [`ClaveElector`], [`Cic`], [`Ocr`] and [`EmissionNumber`]: fields of the
//!   INE voter credential;
//! * [`Clabe`]: the standardised bank account number, with its bank table;
//! * [`icao_check_digit`]: the ICAO 9303 MRZ check digit;
//! * [`Date`], [`Sex`], [`State`], [`CredentialStatus`] and [`Person`];
//! * the CSV column mapping of a person ([`PERSON_CSV_HEADER`],
//!   [`Person::to_csv_fields`], [`Person::from_csv_fields`]);
//! * [`PopulationGenerator`]: a deterministic synthetic population;
//! * [`Clock`]: an injectable wall clock.
//!
//! The crate performs no IO, spawns nothing and has no asynchronous code:
//! everything is a pure function of its inputs (apart from [`SystemClock`]
//! reading the time). Every error type is in [`error`] and nests into
//! [`Error`]; no error message ever contains the rejected value, so errors
//! can be logged without leaking personal data.

#![forbid(unsafe_code)]

pub mod clabe;
pub mod clock;
pub mod csv_row;
pub mod curp;
pub mod date;
pub mod elector;
pub mod error;
pub mod mrz;
pub mod person;
pub mod population;

pub use clabe::{BANKS, Clabe, bank_name_for_code, clabe_check_digit};
pub use clock::{Clock, FixedClock, SystemClock};
pub use csv_row::PERSON_CSV_HEADER;
pub use curp::{Curp, build_curp, curp_check_digit};
pub use date::Date;
pub use elector::{Cic, ClaveElector, EmissionNumber, Ocr};
pub use error::{ClabeError, ClaveElectorError, CodeError, CurpError, DateError, DigitStringError, Error, RowError};
pub use mrz::icao_check_digit;
pub use person::{CredentialStatus, Person, Sex, State};
pub use population::{PopulationGenerator, SplitMix64};
