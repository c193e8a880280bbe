//! Country lookup from a MaxMind-format database held in memory.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::Reader;
use serde::Deserialize;

pub struct Geo {
    reader: Reader<Vec<u8>>,
}

/// Both layouts in circulation: MaxMind's GeoLite2/GeoIP2 Country
/// (`country.iso_code`) and the flat one of ip-location-db (`country_code`).
#[derive(Deserialize)]
struct Record<'a> {
    country_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct IsoOnly<'a> {
    #[serde(borrow)]
    country: Option<IsoCode<'a>>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    iso_code: Option<&'a str>,
}

impl Geo {
    pub fn open(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let reader = Reader::from_source(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Geo { reader })
    }

    /// The ISO 3166 alpha-2 code, upper case, or empty when unknown.
    pub fn country(&self, ip: IpAddr) -> String {
        if let Ok(Some(r)) = self.reader.lookup::<IsoOnly>(ip) {
            if let Some(code) = r.country.and_then(|c| c.iso_code) {
                return code.to_ascii_uppercase();
            }
        }
        match self.reader.lookup::<Record>(ip) {
            Ok(Some(Record {
                country_code: Some(c),
            })) => c.to_ascii_uppercase(),
            _ => String::new(),
        }
    }
}
