//! Basic person attributes: sex, state, credential status, and the person record.

use std::fmt;
use std::str::FromStr;

use crate::curp::Curp;
use crate::date::Date;
use crate::elector::{Cic, ClaveElector, EmissionNumber, Ocr};
use crate::error::CodeError;

/// The sex marker used by CURPs and INE credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sex {
    /// Hombre (male).
    H,
    /// Mujer (female).
    M,
    /// Non-binary marker.
    X,
}

impl Sex {
    /// All sex markers.
    pub const ALL: [Sex; 3] = [Sex::H, Sex::M, Sex::X];

    /// The one-letter code: `H`, `M` or `X`.
    #[must_use]
    pub fn as_char(self) -> char {
        match self {
            Sex::H => 'H',
            Sex::M => 'M',
            Sex::X => 'X',
        }
    }

    /// The one-letter code as a string slice.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::H => "H",
            Sex::M => "M",
            Sex::X => "X",
        }
    }

    /// Maps an ASCII byte `H`, `M` or `X` to the marker.
    #[must_use]
    pub fn from_ascii(byte: u8) -> Option<Sex> {
        match byte {
            b'H' => Some(Sex::H),
            b'M' => Some(Sex::M),
            b'X' => Some(Sex::X),
            _ => None,
        }
    }

    /// Parses exactly `H`, `M` or `X` (surrounding whitespace is ignored).
    pub fn parse(input: &str) -> Result<Sex, CodeError> {
        match input.trim().as_bytes() {
            [byte] => Sex::from_ascii(*byte).ok_or(CodeError::InvalidSex),
            _ => Err(CodeError::InvalidSex),
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Sex {
    type Err = CodeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Sex::parse(input)
    }
}

/// A Mexican federal entity (state), or birth abroad.
///
/// The variants are listed in INEGI order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Aguascalientes (AS, 01).
    Aguascalientes,
    /// Baja California (BC, 02).
    BajaCalifornia,
    /// Baja California Sur (BS, 03).
    BajaCaliforniaSur,
    /// Campeche (CC, 04).
    Campeche,
    /// Coahuila de Zaragoza (CL, 05).
    Coahuila,
    /// Colima (CM, 06).
    Colima,
    /// Chiapas (CS, 07).
    Chiapas,
    /// Chihuahua (CH, 08).
    Chihuahua,
    /// Ciudad de México (DF, 09).
    CiudadDeMexico,
    /// Durango (DG, 10).
    Durango,
    /// Guanajuato (GT, 11).
    Guanajuato,
    /// Guerrero (GR, 12).
    Guerrero,
    /// Hidalgo (HG, 13).
    Hidalgo,
    /// Jalisco (JC, 14).
    Jalisco,
    /// Estado de México (MC, 15).
    Mexico,
    /// Michoacán de Ocampo (MN, 16).
    Michoacan,
    /// Morelos (MS, 17).
    Morelos,
    /// Nayarit (NT, 18).
    Nayarit,
    /// Nuevo León (NL, 19).
    NuevoLeon,
    /// Oaxaca (OC, 20).
    Oaxaca,
    /// Puebla (PL, 21).
    Puebla,
    /// Querétaro (QT, 22).
    Queretaro,
    /// Quintana Roo (QR, 23).
    QuintanaRoo,
    /// San Luis Potosí (SP, 24).
    SanLuisPotosi,
    /// Sinaloa (SL, 25).
    Sinaloa,
    /// Sonora (SR, 26).
    Sonora,
    /// Tabasco (TC, 27).
    Tabasco,
    /// Tamaulipas (TS, 28).
    Tamaulipas,
    /// Tlaxcala (TL, 29).
    Tlaxcala,
    /// Veracruz de Ignacio de la Llave (VZ, 30).
    Veracruz,
    /// Yucatán (YN, 31).
    Yucatan,
    /// Zacatecas (ZS, 32).
    Zacatecas,
    /// Born abroad (NE, no INEGI number).
    NacidoEnElExtranjero,
}

/// The CURP code and Spanish name of each state, in INEGI order.
const STATE_TABLE: [(State, &str, &str); 33] = [
    (State::Aguascalientes, "AS", "Aguascalientes"),
    (State::BajaCalifornia, "BC", "Baja California"),
    (State::BajaCaliforniaSur, "BS", "Baja California Sur"),
    (State::Campeche, "CC", "Campeche"),
    (State::Coahuila, "CL", "Coahuila de Zaragoza"),
    (State::Colima, "CM", "Colima"),
    (State::Chiapas, "CS", "Chiapas"),
    (State::Chihuahua, "CH", "Chihuahua"),
    (State::CiudadDeMexico, "DF", "Ciudad de México"),
    (State::Durango, "DG", "Durango"),
    (State::Guanajuato, "GT", "Guanajuato"),
    (State::Guerrero, "GR", "Guerrero"),
    (State::Hidalgo, "HG", "Hidalgo"),
    (State::Jalisco, "JC", "Jalisco"),
    (State::Mexico, "MC", "Estado de México"),
    (State::Michoacan, "MN", "Michoacán de Ocampo"),
    (State::Morelos, "MS", "Morelos"),
    (State::Nayarit, "NT", "Nayarit"),
    (State::NuevoLeon, "NL", "Nuevo León"),
    (State::Oaxaca, "OC", "Oaxaca"),
    (State::Puebla, "PL", "Puebla"),
    (State::Queretaro, "QT", "Querétaro"),
    (State::QuintanaRoo, "QR", "Quintana Roo"),
    (State::SanLuisPotosi, "SP", "San Luis Potosí"),
    (State::Sinaloa, "SL", "Sinaloa"),
    (State::Sonora, "SR", "Sonora"),
    (State::Tabasco, "TC", "Tabasco"),
    (State::Tamaulipas, "TS", "Tamaulipas"),
    (State::Tlaxcala, "TL", "Tlaxcala"),
    (State::Veracruz, "VZ", "Veracruz de Ignacio de la Llave"),
    (State::Yucatan, "YN", "Yucatán"),
    (State::Zacatecas, "ZS", "Zacatecas"),
    (State::NacidoEnElExtranjero, "NE", "Nacido en el extranjero"),
];

impl State {
    /// All 33 values: the 32 states in INEGI order, then born abroad.
    pub const ALL: [State; 33] = {
        let mut all = [State::NacidoEnElExtranjero; 33];
        let mut index = 0;
        while index < 33 {
            all[index] = STATE_TABLE[index].0;
            index += 1;
        }
        all
    };

    /// The index of the state in [`State::ALL`].
    fn table_index(self) -> usize {
        self as usize
    }

    /// The two-letter code used in CURP positions 12 and 13 (for example `DF`, `NE`).
    #[must_use]
    pub fn curp_code(self) -> &'static str {
        STATE_TABLE[self.table_index()].1
    }

    /// The INEGI state number from 1 to 32, or `None` for births abroad.
    #[must_use]
    pub fn inegi_number(self) -> Option<u8> {
        match self {
            State::NacidoEnElExtranjero => None,
            other => u8::try_from(other.table_index() + 1).ok(),
        }
    }

    /// The state's name in Spanish, for example "Ciudad de México".
    #[must_use]
    pub fn name(self) -> &'static str {
        STATE_TABLE[self.table_index()].2
    }

    /// Looks up a state by its two-letter CURP code (uppercase only).
    #[must_use]
    pub fn from_curp_code(code: &str) -> Option<State> {
        State::from_curp_code_bytes(code.as_bytes())
    }

    /// Looks up a state by the two ASCII bytes of its CURP code.
    pub(crate) fn from_curp_code_bytes(code: &[u8]) -> Option<State> {
        // A match compiles to a few comparisons, which matters on the import path.
        Some(match code {
            b"AS" => State::ALL[0],
            b"BC" => State::ALL[1],
            b"BS" => State::ALL[2],
            b"CC" => State::ALL[3],
            b"CL" => State::ALL[4],
            b"CM" => State::ALL[5],
            b"CS" => State::ALL[6],
            b"CH" => State::ALL[7],
            b"DF" => State::ALL[8],
            b"DG" => State::ALL[9],
            b"GT" => State::ALL[10],
            b"GR" => State::ALL[11],
            b"HG" => State::ALL[12],
            b"JC" => State::ALL[13],
            b"MC" => State::ALL[14],
            b"MN" => State::ALL[15],
            b"MS" => State::ALL[16],
            b"NT" => State::ALL[17],
            b"NL" => State::ALL[18],
            b"OC" => State::ALL[19],
            b"PL" => State::ALL[20],
            b"QT" => State::ALL[21],
            b"QR" => State::ALL[22],
            b"SP" => State::ALL[23],
            b"SL" => State::ALL[24],
            b"SR" => State::ALL[25],
            b"TC" => State::ALL[26],
            b"TS" => State::ALL[27],
            b"TL" => State::ALL[28],
            b"VZ" => State::ALL[29],
            b"YN" => State::ALL[30],
            b"ZS" => State::ALL[31],
            b"NE" => State::ALL[32],
            _ => return None,
        })
    }

    /// Looks up a state by its INEGI number from 1 to 32.
    #[must_use]
    pub fn from_inegi_number(number: u8) -> Option<State> {
        match number {
            1..=32 => Some(STATE_TABLE[usize::from(number) - 1].0),
            _ => None,
        }
    }

    /// Parses a two-letter CURP state code, returning an error for unknown codes.
    pub fn parse_curp_code(input: &str) -> Result<State, CodeError> {
        State::from_curp_code(input.trim()).ok_or(CodeError::UnknownStateCode)
    }
}

impl fmt::Display for State {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The status of a voter credential (credencial para votar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CredentialStatus {
    /// The credential is current.
    Vigente,
    /// The holder reported the credential lost.
    ReportedLost,
    /// The holder reported the credential stolen.
    ReportedStolen,
    /// The credential's validity period has ended.
    Expired,
    /// A newer credential replaced this one.
    Replaced,
    /// The credential was cancelled.
    Cancelled,
}

impl CredentialStatus {
    /// All statuses.
    pub const ALL: [CredentialStatus; 6] = [
        CredentialStatus::Vigente,
        CredentialStatus::ReportedLost,
        CredentialStatus::ReportedStolen,
        CredentialStatus::Expired,
        CredentialStatus::Replaced,
        CredentialStatus::Cancelled,
    ];

    /// The stable text form: `vigente`, `reported_lost`, `reported_stolen`,
    /// `expired`, `replaced` or `cancelled`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Vigente => "vigente",
            CredentialStatus::ReportedLost => "reported_lost",
            CredentialStatus::ReportedStolen => "reported_stolen",
            CredentialStatus::Expired => "expired",
            CredentialStatus::Replaced => "replaced",
            CredentialStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the credential can currently be used as proof of identity.
    #[must_use]
    pub fn is_vigente(self) -> bool {
        self == CredentialStatus::Vigente
    }

    /// Parses the text form produced by [`CredentialStatus::as_str`].
    pub fn parse(input: &str) -> Result<CredentialStatus, CodeError> {
        match input.trim() {
            "vigente" => Ok(CredentialStatus::Vigente),
            "reported_lost" => Ok(CredentialStatus::ReportedLost),
            "reported_stolen" => Ok(CredentialStatus::ReportedStolen),
            "expired" => Ok(CredentialStatus::Expired),
            "replaced" => Ok(CredentialStatus::Replaced),
            "cancelled" => Ok(CredentialStatus::Cancelled),
            _ => Err(CodeError::UnknownCredentialStatus),
        }
    }
}

impl fmt::Display for CredentialStatus {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for CredentialStatus {
    type Err = CodeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        CredentialStatus::parse(input)
    }
}

/// A person as registered in the voter roll, with their credential data.
///
/// Names keep their accents (for example "Peña"); they are normalised only
/// when building the CURP. An empty `second_surname` means the person has a
/// single surname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The person's CURP.
    pub curp: Curp,
    /// Given names, for example "María Guadalupe".
    pub given_names: String,
    /// First (paternal) surname.
    pub first_surname: String,
    /// Second (maternal) surname; empty if the person has only one.
    pub second_surname: String,
    /// Birth date; agrees with the CURP.
    pub birth_date: Date,
    /// Sex marker; agrees with the CURP.
    pub sex: Sex,
    /// Birth state; agrees with the CURP.
    pub birth_state: State,
    /// The clave de elector printed on the voter credential.
    pub clave_elector: ClaveElector,
    /// The credential's CIC (identification code).
    pub cic: Cic,
    /// The credential's OCR number.
    pub ocr: Ocr,
    /// The credential's emission number.
    pub emission: EmissionNumber,
    /// Contact phone number, for example "+52 555 012 3456".
    pub phone: String,
    /// Contact e-mail address.
    pub email: String,
    /// The credential's status.
    pub status: CredentialStatus,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn sex_codes_round_trip() {
        for sex in Sex::ALL {
            assert_eq!(Sex::parse(sex.as_str()), Ok(sex));
            assert_eq!(sex.as_str().chars().next(), Some(sex.as_char()));
        }
        assert_eq!(Sex::parse("h"), Err(CodeError::InvalidSex));
        assert_eq!(Sex::parse("HM"), Err(CodeError::InvalidSex));
        assert_eq!(Sex::parse(""), Err(CodeError::InvalidSex));
    }

    #[test]
    fn state_table_is_consistent() {
        for (index, state) in State::ALL.into_iter().enumerate() {
            assert_eq!(State::from_curp_code(state.curp_code()), Some(state));
            assert_eq!(State::parse_curp_code(state.curp_code()), Ok(state));
            if state == State::NacidoEnElExtranjero {
                assert_eq!(state.inegi_number(), None);
            } else {
                let number = state.inegi_number().unwrap();
                assert_eq!(usize::from(number), index + 1);
                assert_eq!(State::from_inegi_number(number), Some(state));
            }
        }
        assert_eq!(State::from_inegi_number(0), None);
        assert_eq!(State::from_inegi_number(33), None);
    }

    #[test]
    fn state_codes_match_renapo() {
        let codes: Vec<&str> = State::ALL.iter().map(|state| state.curp_code()).collect();
        assert_eq!(
            codes.join(" "),
            "AS BC BS CC CL CM CS CH DF DG GT GR HG JC MC MN MS NT NL OC PL QT QR SP SL SR TC TS TL VZ YN ZS NE"
        );
        assert_eq!(State::CiudadDeMexico.name(), "Ciudad de México");
        assert_eq!(State::CiudadDeMexico.inegi_number(), Some(9));
        assert_eq!(State::Zacatecas.inegi_number(), Some(32));
        assert_eq!(State::from_curp_code("df"), None);
        assert_eq!(State::parse_curp_code("XX"), Err(CodeError::UnknownStateCode));
    }

    #[test]
    fn credential_status_round_trips() {
        let texts: Vec<&str> = CredentialStatus::ALL.iter().map(|status| status.as_str()).collect();
        assert_eq!(texts, ["vigente", "reported_lost", "reported_stolen", "expired", "replaced", "cancelled"]);
        for status in CredentialStatus::ALL {
            assert_eq!(CredentialStatus::parse(status.as_str()), Ok(status));
            assert_eq!(status.to_string().parse::<CredentialStatus>(), Ok(status));
        }
        assert!(CredentialStatus::Vigente.is_vigente());
        assert!(!CredentialStatus::Expired.is_vigente());
        assert_eq!(CredentialStatus::parse("Vigente"), Err(CodeError::UnknownCredentialStatus));
    }
}
