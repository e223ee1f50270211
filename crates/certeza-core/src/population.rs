//! A deterministic, streaming generator of synthetic but realistic people.
//!
//! Every person is a pure function of the generator's seed and the row
//! index, computed with the crate's own pseudo-random number generator
//! ([`SplitMix64`]), so the output for a seed never changes between
//! versions of dependencies or platforms. The generator keeps a fixed-size
//! table (about a quarter of a megabyte) and no per-row state, so
//! generating any number of rows uses constant memory.
//!
//! # Uniqueness
//!
//! * **CURP**: unique for the first [`PopulationGenerator::unique_curp_capacity`]
//!   rows (more than 400 million). The row index is permuted into a pair
//!   (birth day, name-key slot); every birth day is paired with distinct
//!   entries of a table of distinct CURP name keys (positions 1–4, 11–16),
//!   so two rows never share positions 1–16.
//! * **CIC**: unique for the first 10⁹ rows (a keyed permutation of the index).
//! * **OCR**: unique for the first 10¹³ rows (a keyed permutation of the index).
//! * E-mail addresses and phone numbers are not unique.
//!
//! # Fictitious contact data
//!
//! Phone numbers follow the fixed fictitious pattern `+52 555 0xx xxxx`,
//! and e-mail addresses use only the reserved domains `example.org`,
//! `example.com` and `example.net`.

use std::collections::HashSet;

use crate::curp::{CurpNameLetters, WordKey, assemble_curp, given_name_word, normalized_words, surname_word};
use crate::date::{Date, push_two_digits};
use crate::elector::{Cic, ClaveElector, EmissionNumber, Ocr};
use crate::person::{CredentialStatus, Person, Sex, State};

/// The SplitMix64 pseudo-random number generator (Steele, Lea and Flood, 2014).
///
/// It is small, fast and fully specified, so sequences are stable forever.
/// It is not suitable for cryptography.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

/// The golden-ratio increment of SplitMix64.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function, a strong 64-bit mixer.
fn mix64(value: u64) -> u64 {
    let mut mixed = value;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// A value in `0..bound` (Lemire's multiply-high reduction); 0 when `bound` is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(bound);
        // The high half of a 64 × 64-bit product always fits in 64 bits.
        (wide >> 64) as u64
    }
}

/// Cumulative weights for picking an index with probability proportional to its weight.
#[derive(Debug, Clone)]
struct WeightedTable {
    cumulative: Vec<u32>,
}

impl WeightedTable {
    fn new(weights: impl IntoIterator<Item = u32>) -> WeightedTable {
        let mut total = 0u32;
        let cumulative = weights
            .into_iter()
            .map(|weight| {
                total += weight;
                total
            })
            .collect();
        WeightedTable { cumulative }
    }

    fn pick(&self, rng: &mut SplitMix64) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let target = u32::try_from(rng.below(u64::from(total))).unwrap_or(0);
        self.cumulative.partition_point(|&cumulative| cumulative <= target).min(self.cumulative.len().saturating_sub(1))
    }
}

/// A bijection of `0..domain`, built from a balanced Feistel network over
/// the smallest even number of bits covering the domain, with cycle walking.
#[derive(Debug, Clone)]
struct CycleWalkingPermutation {
    domain: u64,
    half_bits: u32,
    keys: [u64; 4],
}

impl CycleWalkingPermutation {
    fn new(domain: u64, key_seed: u64) -> CycleWalkingPermutation {
        let bits = 64 - domain.saturating_sub(1).leading_zeros();
        let mut rng = SplitMix64::new(key_seed);
        CycleWalkingPermutation {
            domain: domain.max(1),
            half_bits: bits.div_ceil(2).max(1),
            keys: [rng.next_u64(), rng.next_u64(), rng.next_u64(), rng.next_u64()],
        }
    }

    /// Maps `value` (reduced into the domain) to its image in `0..domain`.
    fn apply(&self, value: u64) -> u64 {
        let mut walked = value % self.domain;
        loop {
            walked = self.feistel(walked);
            if walked < self.domain {
                return walked;
            }
        }
    }

    fn feistel(&self, value: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let mut left = value >> self.half_bits;
        let mut right = value & mask;
        for key in self.keys {
            let next = left ^ (mix64(right ^ key) & mask);
            left = right;
            right = next;
        }
        (left << self.half_bits) | right
    }
}

/// Male given names, most common first.
const MALE_GIVEN_NAMES: [&str; 72] = [
    "José Luis",
    "Juan",
    "Miguel Ángel",
    "José",
    "Francisco",
    "Jesús",
    "Antonio",
    "Alejandro",
    "Pedro",
    "Juan Carlos",
    "Manuel",
    "Ricardo",
    "Fernando",
    "Jorge",
    "Roberto",
    "Carlos",
    "Eduardo",
    "Rafael",
    "Javier",
    "Mario",
    "Arturo",
    "Luis",
    "Sergio",
    "Martín",
    "Daniel",
    "Raúl",
    "Enrique",
    "Gerardo",
    "José Antonio",
    "Víctor Manuel",
    "David",
    "Héctor",
    "Alberto",
    "Óscar",
    "Salvador",
    "Juan Manuel",
    "Andrés",
    "Ramón",
    "Guillermo",
    "Pablo",
    "Ernesto",
    "Gustavo",
    "Rubén",
    "Alfredo",
    "Ignacio",
    "Hugo",
    "Jaime",
    "Gabriel",
    "Adrián",
    "Armando",
    "Felipe",
    "Alfonso",
    "Santiago",
    "Mateo",
    "Sebastián",
    "Diego",
    "Emiliano",
    "Leonardo",
    "Iván",
    "Ángel",
    "Agustín",
    "Rodrigo",
    "Marco Antonio",
    "Cuauhtémoc",
    "Joaquín",
    "Tomás",
    "Rogelio",
    "Lorenzo",
    "Ismael",
    "Benjamín",
    "Julio César",
    "Omar",
];

/// Female given names, most common first.
const FEMALE_GIVEN_NAMES: [&str; 74] = [
    "María Guadalupe",
    "Guadalupe",
    "María",
    "Juana",
    "Margarita",
    "Verónica",
    "María Elena",
    "Leticia",
    "Rosa María",
    "Francisca",
    "Patricia",
    "Elizabeth",
    "Alejandra",
    "Gabriela",
    "Teresa",
    "Adriana",
    "Claudia",
    "Martha",
    "Silvia",
    "Ana María",
    "María del Carmen",
    "Yolanda",
    "Araceli",
    "Sofía",
    "Ximena",
    "Valentina",
    "Regina",
    "Camila",
    "María José",
    "Fernanda",
    "Daniela",
    "Andrea",
    "Mariana",
    "Isabel",
    "Carmen",
    "Laura",
    "Rosa",
    "Alicia",
    "Beatriz",
    "Lucía",
    "Norma",
    "Sandra",
    "Mónica",
    "Lorena",
    "Susana",
    "Gloria",
    "Esperanza",
    "Josefina",
    "Irma",
    "Blanca Estela",
    "Karla",
    "Diana",
    "Paola",
    "Brenda",
    "Jessica",
    "Karina",
    "Erika",
    "Liliana",
    "Rocío",
    "Graciela",
    "Angélica",
    "Itzel",
    "Xóchitl",
    "Nayeli",
    "Citlali",
    "Dolores",
    "Ofelia",
    "Elena",
    "Victoria",
    "Natalia",
    "Renata",
    "Ana Sofía",
    "Luz María",
    "María de los Ángeles",
];

/// Surnames, most common first.
const SURNAMES: [&str; 120] = [
    "Hernández",
    "García",
    "Martínez",
    "López",
    "González",
    "Pérez",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Cruz",
    "Flores",
    "Gómez",
    "Morales",
    "Vázquez",
    "Reyes",
    "Jiménez",
    "Torres",
    "Díaz",
    "Gutiérrez",
    "Ruiz",
    "Mendoza",
    "Aguilar",
    "Ortiz",
    "Moreno",
    "Castillo",
    "Romero",
    "Álvarez",
    "Méndez",
    "Chávez",
    "Rivera",
    "Juárez",
    "Ramos",
    "Domínguez",
    "Herrera",
    "Medina",
    "Castro",
    "Vargas",
    "Guzmán",
    "Velázquez",
    "Muñoz",
    "Rojas",
    "de la Cruz",
    "Contreras",
    "Salazar",
    "Luna",
    "Ortega",
    "Santiago",
    "Guerrero",
    "Bautista",
    "Estrada",
    "Cortés",
    "Soto",
    "Alvarado",
    "Espinoza",
    "Lara",
    "Ávila",
    "Ríos",
    "Cervantes",
    "Silva",
    "Delgado",
    "Vega",
    "Márquez",
    "Sandoval",
    "Fernández",
    "León",
    "Carrillo",
    "Mejía",
    "Solís",
    "Núñez",
    "Rosas",
    "Valdez",
    "Ibarra",
    "Campos",
    "Santos",
    "Camacho",
    "Navarro",
    "Peña",
    "Maldonado",
    "Rosales",
    "Acosta",
    "Miranda",
    "Trejo",
    "Valencia",
    "Nava",
    "Pacheco",
    "Robles",
    "Molina",
    "Rangel",
    "Huerta",
    "Padilla",
    "Fuentes",
    "Cabrera",
    "Ayala",
    "Meza",
    "Ponce de León",
    "Zamora",
    "Villanueva",
    "Montes de Oca",
    "Cárdenas",
    "Orozco",
    "Esquivel",
    "Salinas",
    "Tapia",
    "Arellano",
    "Calderón",
    "Quintero",
    "Zúñiga",
    "Beltrán",
    "Galván",
    "Ochoa",
    "Benítez",
    "Osorio",
    "Figueroa",
    "Montoya",
    "Paredes",
    "Xolalpa",
    "Ocampo",
    "Yáñez",
    "Uribe",
    "del Ángel",
];

/// Population of each state in thousands (INEGI census 2020), in [`State::ALL`]
/// order, followed by the weight of births abroad (about 1 %).
const STATE_WEIGHTS: [u32; 33] = [
    1426, 3769, 798, 928, 3146, 731, 5543, 3741, 9209, 1832, 6166, 3540, 3082, 8348, 16992, 4748, 1971, 1235, 5784,
    4132, 6583, 2368, 1857, 2822, 3026, 2944, 2402, 3527, 1342, 8062, 2320, 1622, 1260,
];

/// Sex weights per ten thousand: H, M and about 0.5 % X.
const SEX_WEIGHTS: [(Sex, u32); 3] = [(Sex::H, 4_975), (Sex::M, 4_975), (Sex::X, 50)];

/// Credential status weights per ten thousand.
const STATUS_WEIGHTS: [(CredentialStatus, u32); 6] = [
    (CredentialStatus::Vigente, 9_600),
    (CredentialStatus::ReportedLost, 100),
    (CredentialStatus::ReportedStolen, 50),
    (CredentialStatus::Expired, 150),
    (CredentialStatus::Replaced, 70),
    (CredentialStatus::Cancelled, 30),
];

/// Emission number weights per hundred for "00" to "03".
const EMISSION_WEIGHTS: [u32; 4] = [70, 20, 8, 2];

/// The reserved e-mail domains used for synthetic addresses.
const EMAIL_DOMAINS: [&str; 3] = ["example.org", "example.com", "example.net"];

/// The number of distinct CURP name keys in the generator's table.
const NAME_KEY_SLOTS: usize = 1 << 14;

/// Per ten thousand, the share of people without a second surname.
const NO_SECOND_SURNAME_PER_TEN_THOUSAND: u32 = 50;

/// Per hundred, the share of people registered in a state other than their birth state.
const MOVED_PER_HUNDRED: u64 = 15;

/// A set of names with per-name precomputed data, grouped by CURP key.
#[derive(Debug, Clone)]
struct NamePool {
    names: Vec<&'static str>,
    email_parts: Vec<String>,
    clave_letters: Vec<[u8; 2]>,
    group_of: Vec<u16>,
    groups: Vec<NameGroup>,
    table: WeightedTable,
}

/// The names of a pool that share the same CURP key.
#[derive(Debug, Clone)]
struct NameGroup {
    key: WordKey,
    members: Vec<u16>,
    table: WeightedTable,
}

/// Which word of a name the CURP uses, and whether its vowel matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRole {
    FirstSurname,
    SecondSurname,
    GivenNames,
}

/// A Zipf-like weight for the name of the given popularity rank.
fn rank_weight(rank: usize) -> u32 {
    let rank = u32::try_from(rank).unwrap_or(u32::MAX - 4);
    1_000_000 / (rank.saturating_add(4))
}

impl NamePool {
    fn new(names: Vec<&'static str>, weights: Vec<u32>, role: NameRole) -> NamePool {
        let mut groups: Vec<NameGroup> = Vec::new();
        let mut group_of = Vec::with_capacity(names.len());
        for (index, name) in names.iter().enumerate() {
            let word = match role {
                NameRole::GivenNames => given_name_word(name),
                NameRole::FirstSurname | NameRole::SecondSurname => surname_word(name),
            };
            let mut key = WordKey::of(word.as_deref());
            if role != NameRole::FirstSurname {
                // Only the first surname contributes its vowel to the CURP.
                key.vowel = b'X';
            }
            let group_index = match groups.iter().position(|group| group.key == key) {
                Some(position) => position,
                None => {
                    groups.push(NameGroup { key, members: Vec::new(), table: WeightedTable::new([]) });
                    groups.len() - 1
                }
            };
            groups[group_index].members.push(u16::try_from(index).unwrap_or(u16::MAX));
            group_of.push(u16::try_from(group_index).unwrap_or(u16::MAX));
        }
        for group in &mut groups {
            group.table = WeightedTable::new(group.members.iter().map(|&member| weights[usize::from(member)]));
        }
        NamePool {
            email_parts: names.iter().map(|name| email_part(name, role)).collect(),
            clave_letters: names.iter().map(|name| clave_letters(name)).collect(),
            table: WeightedTable::new(weights),
            names,
            group_of,
            groups,
        }
    }

    /// Picks a name index of the given group with probability proportional to its weight.
    fn pick_in_group(&self, group: u16, rng: &mut SplitMix64) -> usize {
        let group = &self.groups[usize::from(group)];
        usize::from(group.members[group.table.pick(rng)])
    }
}

/// The lowercase ASCII e-mail fragment of a name: its first word for given
/// names, all its words joined for surnames ("de la Cruz" gives "delacruz").
fn email_part(name: &str, role: NameRole) -> String {
    let words = normalized_words(name);
    let part = match role {
        NameRole::GivenNames => words.into_iter().next().unwrap_or_default(),
        NameRole::FirstSurname | NameRole::SecondSurname => words.concat(),
    };
    part.to_ascii_lowercase()
}

/// The first two consonants of the word of a name, `X` when missing, as in
/// the six letters that open a clave de elector.
fn clave_letters(name: &str) -> [u8; 2] {
    let word = surname_word(name).unwrap_or_default();
    let mut consonants = word.bytes().filter(|byte| !matches!(byte, b'A' | b'E' | b'I' | b'O' | b'U'));
    [consonants.next().unwrap_or(b'X'), consonants.next().unwrap_or(b'X')]
}

/// One entry of the table of distinct CURP name keys.
#[derive(Debug, Clone, Copy)]
struct NameKeySlot {
    sex: Sex,
    given_pool: u8,
    state: State,
    first_surname_group: u16,
    second_surname_group: u16,
    given_group: u16,
    letters: CurpNameLetters,
}

/// Packs the parts of a CURP that depend on names, sex and state into one number.
fn pack_name_key(letters: &CurpNameLetters, sex: Sex, state: State) -> u64 {
    let mut packed = 0u64;
    for byte in letters.initials.iter().chain(letters.consonants.iter()) {
        packed = (packed << 5) | u64::from(byte - b'A');
    }
    (((packed << 8) | sex as u64) << 8) | state as u64
}

/// A deterministic, infinite, constant-memory generator of synthetic people.
///
/// Iterate it and `take` as many people as needed; [`PopulationGenerator::person_at`]
/// gives random access to any row. See the [module documentation](self)
/// for the uniqueness guarantees.
#[derive(Debug, Clone)]
pub struct PopulationGenerator {
    seed: u64,
    next_index: u64,
    first_day: i64,
    day_count: u64,
    male_given_names: NamePool,
    female_given_names: NamePool,
    first_surnames: NamePool,
    second_surnames: NamePool,
    residence_states: WeightedTable,
    statuses: WeightedTable,
    emissions: WeightedTable,
    name_keys: Vec<NameKeySlot>,
    slot_offset_key: u64,
    curp_permutation: CycleWalkingPermutation,
    cic_permutation: CycleWalkingPermutation,
    ocr_permutation: CycleWalkingPermutation,
}

/// The number of distinct CIC values.
const CIC_DOMAIN: u64 = 1_000_000_000;

/// The number of distinct OCR values.
const OCR_DOMAIN: u64 = 10_000_000_000_000;

impl PopulationGenerator {
    /// A generator whose whole output is determined by `seed`.
    #[must_use]
    pub fn new(seed: u64) -> PopulationGenerator {
        let mut setup_rng = SplitMix64::new(mix64(seed ^ 0x005E_ED0F_C0DE));
        let first_day = Date::new(1940, 1, 1).map_or(-10_957, Date::days_from_civil);
        let last_day = Date::new(2008, 12, 31).map_or(14_244, Date::days_from_civil);
        let day_count = u64::try_from(last_day - first_day + 1).unwrap_or(1);

        let given_weights = |count: usize| (0..count).map(rank_weight).collect::<Vec<_>>();
        let male_given_names =
            NamePool::new(MALE_GIVEN_NAMES.to_vec(), given_weights(MALE_GIVEN_NAMES.len()), NameRole::GivenNames);
        let female_given_names =
            NamePool::new(FEMALE_GIVEN_NAMES.to_vec(), given_weights(FEMALE_GIVEN_NAMES.len()), NameRole::GivenNames);
        let surname_weights = given_weights(SURNAMES.len());
        let first_surnames = NamePool::new(SURNAMES.to_vec(), surname_weights.clone(), NameRole::FirstSurname);
        let total_surname_weight: u32 = surname_weights.iter().sum();
        let mut second_names = SURNAMES.to_vec();
        second_names.push("");
        let mut second_weights = surname_weights;
        second_weights.push(total_surname_weight / 10_000 * NO_SECOND_SURNAME_PER_TEN_THOUSAND);
        let second_surnames = NamePool::new(second_names, second_weights, NameRole::SecondSurname);

        let birth_states = WeightedTable::new(STATE_WEIGHTS);
        let residence_states = WeightedTable::new(STATE_WEIGHTS[..32].iter().copied());
        let sexes = WeightedTable::new(SEX_WEIGHTS.map(|(_, weight)| weight));

        let mut name_keys = Vec::with_capacity(NAME_KEY_SLOTS);
        let mut seen = HashSet::with_capacity(NAME_KEY_SLOTS);
        let mut attempts = 0usize;
        while name_keys.len() < NAME_KEY_SLOTS && attempts < NAME_KEY_SLOTS * 64 {
            attempts += 1;
            let sex = SEX_WEIGHTS[sexes.pick(&mut setup_rng)].0;
            let given_pool: u8 = match sex {
                Sex::H => 0,
                Sex::M => 1,
                Sex::X => u8::from(setup_rng.below(2) == 1),
            };
            let given = if given_pool == 0 { &male_given_names } else { &female_given_names };
            let state = State::ALL[birth_states.pick(&mut setup_rng)];
            let first_surname_group = first_surnames.group_of[first_surnames.table.pick(&mut setup_rng)];
            let second_surname_group = second_surnames.group_of[second_surnames.table.pick(&mut setup_rng)];
            let given_group = given.group_of[given.table.pick(&mut setup_rng)];
            let letters = CurpNameLetters::from_keys(
                first_surnames.groups[usize::from(first_surname_group)].key,
                second_surnames.groups[usize::from(second_surname_group)].key,
                given.groups[usize::from(given_group)].key,
            );
            if seen.insert(pack_name_key(&letters, sex, state)) {
                name_keys.push(NameKeySlot {
                    sex,
                    given_pool,
                    state,
                    first_surname_group,
                    second_surname_group,
                    given_group,
                    letters,
                });
            }
        }

        let slot_count = u64::try_from(name_keys.len()).unwrap_or(1).max(1);
        PopulationGenerator {
            seed,
            next_index: 0,
            first_day,
            day_count,
            male_given_names,
            female_given_names,
            first_surnames,
            second_surnames,
            residence_states,
            statuses: WeightedTable::new(STATUS_WEIGHTS.map(|(_, weight)| weight)),
            emissions: WeightedTable::new(EMISSION_WEIGHTS),
            name_keys,
            slot_offset_key: setup_rng.next_u64(),
            curp_permutation: CycleWalkingPermutation::new(day_count * slot_count, setup_rng.next_u64()),
            cic_permutation: CycleWalkingPermutation::new(CIC_DOMAIN, setup_rng.next_u64()),
            ocr_permutation: CycleWalkingPermutation::new(OCR_DOMAIN, setup_rng.next_u64()),
        }
    }

    /// The seed this generator was created with.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The index of the row the iterator yields next.
    #[must_use]
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// How many rows, counted from index 0, have pairwise distinct CURPs.
    ///
    /// Rows beyond this count repeat the CURP key sequence.
    #[must_use]
    pub fn unique_curp_capacity(&self) -> u64 {
        self.curp_permutation.domain
    }

    /// The person in row `index`; a pure function of the seed and the index.
    #[must_use]
    pub fn person_at(&self, index: u64) -> Person {
        let mut rng = SplitMix64::new(mix64(self.seed ^ index.wrapping_mul(GOLDEN_GAMMA)));

        let permuted = self.curp_permutation.apply(index);
        let day_index = permuted % self.day_count;
        let key_rank = permuted / self.day_count;
        let slot_count = self.name_keys.len() as u64;
        let offset = mix64(self.slot_offset_key ^ day_index) % slot_count;
        // The two terms are each below the slot count, so the sum cannot overflow.
        let slot = &self.name_keys[usize::try_from((key_rank + offset) % slot_count).unwrap_or(0)];

        let day = self.first_day + i64::try_from(day_index).unwrap_or(0);
        let birth_date = Date::from_days(day).unwrap_or(Date::UNIX_EPOCH);

        let given_pool = if slot.given_pool == 0 { &self.male_given_names } else { &self.female_given_names };
        let given_index = given_pool.pick_in_group(slot.given_group, &mut rng);
        let first_index = self.first_surnames.pick_in_group(slot.first_surname_group, &mut rng);
        let second_index = self.second_surnames.pick_in_group(slot.second_surname_group, &mut rng);

        let homonymy = if birth_date.year() < 2000 {
            if rng.below(100) < 90 { b'0' } else { b'1' + rng.below(9) as u8 }
        } else if rng.below(100) < 90 {
            b'A'
        } else {
            b'B' + rng.below(9) as u8
        };
        let curp = assemble_curp(slot.letters, birth_date, slot.sex, slot.state, homonymy);

        let residence = if slot.state == State::NacidoEnElExtranjero || rng.below(100) < MOVED_PER_HUNDRED {
            State::ALL[self.residence_states.pick(&mut rng)]
        } else {
            slot.state
        };
        let mut clave = String::with_capacity(18);
        for letters in [
            self.first_surnames.clave_letters[first_index],
            self.second_surnames.clave_letters[second_index],
            given_pool.clave_letters[given_index],
        ] {
            clave.push(char::from(letters[0]));
            clave.push(char::from(letters[1]));
        }
        birth_date.push_yymmdd(&mut clave);
        push_two_digits(&mut clave, u32::from(residence.inegi_number().unwrap_or(9)));
        clave.push(slot.sex.as_char());
        push_padded_digits(&mut clave, rng.below(1000), 3);

        let mut cic = String::with_capacity(9);
        push_padded_digits(&mut cic, self.cic_permutation.apply(index), 9);
        let mut ocr = String::with_capacity(13);
        push_padded_digits(&mut ocr, self.ocr_permutation.apply(index), 13);
        let mut emission = String::with_capacity(2);
        push_padded_digits(&mut emission, self.emissions.pick(&mut rng) as u64, 2);

        let mut phone = String::with_capacity(16);
        phone.push_str("+52 555 0");
        push_padded_digits(&mut phone, rng.below(100), 2);
        phone.push(' ');
        push_padded_digits(&mut phone, rng.below(10_000), 4);

        let given_part = &given_pool.email_parts[given_index];
        let surname_part = &self.first_surnames.email_parts[first_index];
        let mut email = String::with_capacity(given_part.len() + surname_part.len() + 18);
        email.push_str(given_part);
        email.push('.');
        email.push_str(surname_part);
        push_decimal(&mut email, 1 + rng.below(9_999));
        email.push('@');
        email.push_str(EMAIL_DOMAINS[rng.below(3) as usize]);

        let status = STATUS_WEIGHTS[self.statuses.pick(&mut rng)].0;

        Person {
            curp,
            given_names: given_pool.names[given_index].to_owned(),
            first_surname: self.first_surnames.names[first_index].to_owned(),
            second_surname: self.second_surnames.names[second_index].to_owned(),
            birth_date,
            sex: slot.sex,
            birth_state: slot.state,
            clave_elector: ClaveElector::from_trusted(clave),
            cic: Cic::from_trusted(cic),
            ocr: Ocr::from_trusted(ocr),
            emission: EmissionNumber::from_trusted(emission),
            phone,
            email,
            status,
        }
    }
}

/// Appends `value` as exactly `width` decimal digits (keeping the low digits).
fn push_padded_digits(out: &mut String, value: u64, width: u32) {
    let mut divisor = 10u64.pow(width.saturating_sub(1));
    while divisor > 0 {
        // A single decimal digit always fits in a byte.
        out.push(char::from(b'0' + ((value / divisor) % 10) as u8));
        divisor /= 10;
    }
}

/// Appends `value` in decimal without padding.
fn push_decimal(out: &mut String, value: u64) {
    let mut width = 1;
    while width < 20 && value >= 10u64.pow(width) {
        width += 1;
    }
    push_padded_digits(out, value, width);
}

impl Iterator for PopulationGenerator {
    type Item = Person;

    fn next(&mut self) -> Option<Person> {
        let person = self.person_at(self.next_index);
        self.next_index = self.next_index.wrapping_add(1);
        Some(person)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }

    fn nth(&mut self, skipped: usize) -> Option<Person> {
        self.next_index = self.next_index.wrapping_add(u64::try_from(skipped).unwrap_or(u64::MAX));
        self.next()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;
    use crate::curp::{Curp, build_curp};

    #[test]
    fn split_mix_matches_reference_output() {
        // Reference values of SplitMix64 seeded with 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(rng.below(0), 0);
        for _ in 0..1000 {
            assert!(rng.below(7) < 7);
        }
    }

    #[test]
    fn permutation_is_a_bijection_on_small_domains() {
        for domain in [1u64, 2, 3, 10, 97, 1000, 4096, 5000] {
            let permutation = CycleWalkingPermutation::new(domain, domain * 31);
            let mut seen = vec![false; usize::try_from(domain).unwrap()];
            for value in 0..domain {
                let image = permutation.apply(value);
                assert!(image < domain);
                let cell = &mut seen[usize::try_from(image).unwrap()];
                assert!(!*cell, "domain {domain} maps twice to {image}");
                *cell = true;
            }
        }
    }

    #[test]
    fn weighted_table_respects_zero_weights() {
        let table = WeightedTable::new([0, 5, 0, 5]);
        let mut rng = SplitMix64::new(9);
        for _ in 0..1000 {
            let picked = table.pick(&mut rng);
            assert!(picked == 1 || picked == 3);
        }
    }

    #[test]
    fn name_lists_are_large_and_valid() {
        assert!(MALE_GIVEN_NAMES.len() >= 60);
        assert!(FEMALE_GIVEN_NAMES.len() >= 60);
        assert!(SURNAMES.len() >= 100);
        for list in [&MALE_GIVEN_NAMES[..], &FEMALE_GIVEN_NAMES[..], &SURNAMES[..]] {
            let mut seen = HashSet::new();
            for name in list {
                assert!(seen.insert(*name), "duplicate name {name}");
                assert!(name.chars().all(|c| c.is_alphabetic() || c == ' '));
            }
        }
    }

    #[test]
    fn generation_is_deterministic_and_seed_dependent() {
        let first: Vec<Person> = PopulationGenerator::new(7).take(50).collect();
        let again: Vec<Person> = PopulationGenerator::new(7).take(50).collect();
        let other: Vec<Person> = PopulationGenerator::new(8).take(50).collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
        let generator = PopulationGenerator::new(7);
        assert_eq!(generator.person_at(49), first[49]);
        let mut skipping = PopulationGenerator::new(7);
        assert_eq!(skipping.nth(10).unwrap(), first[10]);
        assert_eq!(skipping.next_index(), 11);
    }

    #[test]
    fn generated_people_are_valid_and_match_build_curp() {
        for person in PopulationGenerator::new(2024).take(2_000) {
            assert_eq!(Person::from_csv_fields(&person.to_csv_fields()), Ok(person.clone()));
            let rebuilt = build_curp(
                &person.first_surname,
                &person.second_surname,
                &person.given_names,
                person.birth_date,
                person.sex,
                person.birth_state,
                person.curp.homonymy(),
            )
            .unwrap();
            assert_eq!(rebuilt, person.curp);
            assert_eq!(Curp::parse(person.curp.as_str()).unwrap(), person.curp);
            assert!((1940..=2008).contains(&person.birth_date.year()));
            assert!(person.phone.starts_with("+52 555 0"));
            assert!(EMAIL_DOMAINS.iter().any(|domain| person.email.ends_with(&format!("@{domain}"))));
            assert!(person.email.is_ascii());
            assert!(person.emission.as_str() <= "03");
        }
    }

    #[test]
    fn identifiers_are_unique_over_many_rows() {
        let generator = PopulationGenerator::new(99);
        assert!(generator.unique_curp_capacity() > 400_000_000);
        let mut curps = HashSet::new();
        let mut cics = HashSet::new();
        let mut ocrs = HashSet::new();
        for person in generator.take(100_000) {
            assert!(curps.insert(person.curp.as_str()[..16].to_owned()));
            assert!(cics.insert(person.cic.as_str().to_owned()));
            assert!(ocrs.insert(person.ocr.as_str().to_owned()));
        }
    }

    #[test]
    fn distributions_are_roughly_realistic() {
        let rows = 50_000;
        let mut sexes: HashMap<Sex, u32> = HashMap::new();
        let mut statuses: HashMap<CredentialStatus, u32> = HashMap::new();
        let mut states: HashMap<State, u32> = HashMap::new();
        let mut without_second_surname = 0;
        for person in PopulationGenerator::new(5).take(rows) {
            *sexes.entry(person.sex).or_default() += 1;
            *statuses.entry(person.status).or_default() += 1;
            *states.entry(person.birth_state).or_default() += 1;
            without_second_surname += u32::from(person.second_surname.is_empty());
        }
        let share = |count: u32| f64::from(count) / rows as f64;
        assert!((share(sexes[&Sex::X]) - 0.005).abs() < 0.003);
        assert!((share(statuses[&CredentialStatus::Vigente]) - 0.96).abs() < 0.01);
        assert!(share(statuses[&CredentialStatus::Cancelled]) > 0.0);
        assert!(states[&State::Mexico] > states[&State::Colima] * 10);
        assert!((share(states[&State::NacidoEnElExtranjero]) - 0.01).abs() < 0.005);
        assert!(share(without_second_surname) < 0.02);
        assert!(states.len() == 33);
    }
}
