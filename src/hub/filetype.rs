//! Which files holdfast stores and under which name: the type is judged by the content (magic
//! numbers through `infer`, and for ZIP containers a look at the entry names), never by the name
//! the uploader chose, and the stored name's extension is one this type allows — otherwise the
//! type's canonical one. So `run.bat` full of text downloads as `run.txt`, and a macro-enabled
//! `budget.xlsm` as `budget.zip`: no double-click on a download starts a script or a macro.

use std::io::{Cursor, Read};

/// One accepted kind of file. The table [`ACCEPTED`] is what docs/security.md lists.
#[derive(Debug, PartialEq, Eq)]
pub struct FileType {
    /// The `Content-Type` the file is stored with and served as.
    pub mime: &'static str,
    /// Extensions (lower case, no dot) an uploaded name may keep; the first is the canonical one.
    pub keep: &'static [&'static str],
}

impl FileType {
    pub fn canonical(&self) -> &'static str {
        self.keep.first().copied().unwrap_or("bin")
    }
}

pub const PDF: FileType = FileType {
    mime: "application/pdf",
    keep: &["pdf"],
};
pub const PNG: FileType = FileType {
    mime: "image/png",
    keep: &["png"],
};
pub const JPEG: FileType = FileType {
    mime: "image/jpeg",
    keep: &["jpg", "jpeg"],
};
pub const GIF: FileType = FileType {
    mime: "image/gif",
    keep: &["gif"],
};
pub const DOCX: FileType = FileType {
    mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    keep: &["docx"],
};
pub const XLSX: FileType = FileType {
    mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    keep: &["xlsx"],
};
pub const PPTX: FileType = FileType {
    mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    keep: &["pptx"],
};
pub const ODT: FileType = FileType {
    mime: "application/vnd.oasis.opendocument.text",
    keep: &["odt"],
};
pub const ODS: FileType = FileType {
    mime: "application/vnd.oasis.opendocument.spreadsheet",
    keep: &["ods"],
};
pub const ODP: FileType = FileType {
    mime: "application/vnd.oasis.opendocument.presentation",
    keep: &["odp"],
};
/// Any other ZIP, including Java archives and office files that carry macros or ActiveX parts:
/// stored, but only ever named `.zip`, so nothing opens them as a program or a macro document.
pub const ZIP: FileType = FileType {
    mime: "application/zip",
    keep: &["zip"],
};
/// Valid UTF-8 without NUL bytes. Scripts (`.bat`, `.ps1`, `.js`, `.vbs`, `.hta`, HTML) are text
/// too, and are stored and served as text under a text name.
pub const TEXT: FileType = FileType {
    mime: "text/plain",
    keep: &["txt", "text", "log", "md"],
};
/// Text whose uploaded name ends in `.csv`.
pub const CSV: FileType = FileType {
    mime: "text/csv",
    keep: &["csv"],
};

pub const ACCEPTED: &[&FileType] = &[
    &PDF, &PNG, &JPEG, &GIF, &DOCX, &XLSX, &PPTX, &ODT, &ODS, &ODP, &ZIP, &TEXT, &CSV,
];

/// How much of a file decides whether it is text.
const TEXT_PROBE: usize = 64 * 1024;

/// The type of `bytes`; `None` for everything holdfast does not store (programs, libraries,
/// unknown binary formats, unreadable ZIPs). `filename` only tells CSV from other text.
pub fn detect(bytes: &[u8], filename: &str) -> Option<&'static FileType> {
    if bytes.is_empty() {
        return None;
    }
    match infer::get(bytes).map(|t| t.mime_type()) {
        Some("application/pdf") => return Some(&PDF),
        Some("image/png") => return Some(&PNG),
        Some("image/jpeg") => return Some(&JPEG),
        Some("image/gif") => return Some(&GIF),
        _ => {}
    }
    if infer::archive::is_zip(bytes) {
        return inside_zip(bytes);
    }
    // Anything else `infer` recognises (ELF, PE, Mach-O, class files…) contains NUL bytes and fails
    // the text test; a few of its weak signatures (BMP's "BM") also match ordinary text, which
    // must stay text.
    if is_text(bytes) {
        let csv = extension(&super::documents::clean_filename(filename))
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        return Some(if csv { &CSV } else { &TEXT });
    }
    None
}

fn is_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(TEXT_PROBE)];
    // A multi-byte character cut by the probe's end is still text.
    !head.contains(&0)
        && match std::str::from_utf8(head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none() && head.len() == TEXT_PROBE,
        }
}

/// Entry names (lower case) whose presence makes an office file active content.
fn is_active_part(name: &str) -> bool {
    name.ends_with("vbaproject.bin")
        || name.ends_with("vbadata.xml")
        || name.contains("/macrosheets/")
        || name.contains("/activex/")
        // OpenDocument macros (StarBasic) and scripts.
        || name.starts_with("basic/")
        || name.starts_with("scripts/")
}

/// Office documents are ZIPs with a fixed layout; which one it is comes from the entry names
/// (read from the central directory, nothing is decompressed), and for OpenDocument from its
/// uncompressed first entry `mimetype`.
fn inside_zip(bytes: &[u8]) -> Option<&'static FileType> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    if names.iter().any(|n| is_active_part(n))
        || has("meta-inf/manifest.mf")
        || names.iter().any(|n| n.ends_with(".class"))
    {
        return Some(&ZIP);
    }
    if has("[content_types].xml") {
        if has("word/document.xml") {
            return Some(&DOCX);
        }
        if has("xl/workbook.xml") {
            return Some(&XLSX);
        }
        if has("ppt/presentation.xml") {
            return Some(&PPTX);
        }
        return Some(&ZIP);
    }
    if names.first().map(String::as_str) == Some("mimetype") {
        let mut declared = Vec::new();
        if let Ok(entry) = archive.by_index(0) {
            let _ = entry.take(100).read_to_end(&mut declared);
        }
        return Some(match declared.as_slice() {
            b"application/vnd.oasis.opendocument.text" => &ODT,
            b"application/vnd.oasis.opendocument.spreadsheet" => &ODS,
            b"application/vnd.oasis.opendocument.presentation" => &ODP,
            _ => &ZIP,
        });
    }
    Some(&ZIP)
}

/// The part after the last dot of a name that has something before it.
fn extension(name: &str) -> Option<&str> {
    name.rsplit_once('.')
        .filter(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
        .map(|(_, ext)| ext)
}

/// The name a file of type `t` is stored and downloaded under: the uploader's name made safe, with
/// its extension kept when `t` allows it and replaced by `t`'s canonical one otherwise.
pub fn stored_name(filename: &str, t: &FileType) -> String {
    let clean = super::documents::clean_filename(filename);
    match extension(&clean) {
        Some(ext) if t.keep.iter().any(|k| k.eq_ignore_ascii_case(ext)) => clean,
        Some(ext) => format!(
            "{}.{}",
            &clean[..clean.len() - ext.len() - 1],
            t.canonical()
        ),
        None => format!("{clean}.{}", t.canonical()),
    }
}

/// The download name of a stored version, applying the same rule to rows stored before it
/// existed; an unknown type downloads as `.bin`.
pub fn download_name(filename: &str, mime: &str) -> String {
    match ACCEPTED.iter().find(|t| t.mime == mime) {
        Some(t) => stored_name(filename, t),
        None => stored_name(
            filename,
            &FileType {
                mime: "application/octet-stream",
                keep: &["bin"],
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn content_decides_the_type() {
        assert_eq!(detect(b"%PDF-1.7 ...", "x.exe"), Some(&PDF));
        assert_eq!(detect(b"MZ\x90\x00\x03\x00\x00\x00", "report.pdf"), None);
        assert_eq!(detect(b"\x7fELF\x02\x01\x01\x00", "a.txt"), None);
        assert_eq!(detect(b"name,total\nA,1\n", "a.csv"), Some(&CSV));
        assert_eq!(detect("Zażółć".as_bytes(), "n.txt"), Some(&TEXT));
        assert_eq!(detect(b"BMW,Audi\n1,2\n", "cars.CSV"), Some(&CSV));
        assert_eq!(detect(b"<html><script>x()</script>", "a.hta"), Some(&TEXT));
        assert_eq!(detect(b"", "a.txt"), None);
        // A cut multi-byte character only counts at the probe's end.
        assert_eq!(detect(b"abc\xc3", "a.txt"), None);
    }

    #[test]
    fn zip_containers_are_judged_by_their_entries() {
        let docx = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"<w:document/>"),
        ]);
        assert_eq!(detect(&docx, "a.docm"), Some(&DOCX));
        let docm = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"<w:document/>"),
            ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0"),
        ]);
        assert_eq!(detect(&docm, "a.docx"), Some(&ZIP));
        let xlm = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/workbook.xml", b"<workbook/>"),
            ("xl/macrosheets/sheet1.xml", b"<xm:macrosheet/>"),
        ]);
        assert_eq!(detect(&xlm, "a.xlsx"), Some(&ZIP));
        let jar = zip_of(&[
            ("META-INF/MANIFEST.MF", b"Main-Class: A\n"),
            ("A.class", b"\xca\xfe\xba\xbe"),
        ]);
        assert_eq!(detect(&jar, "a.jar"), Some(&ZIP));
        let odt = zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b"<office:document-content/>"),
        ]);
        assert_eq!(detect(&odt, "a.odt"), Some(&ODT));
        let odt_macro = zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("Basic/Standard/Module1.xml", b"Sub Main"),
        ]);
        assert_eq!(detect(&odt_macro, "a.odt"), Some(&ZIP));
        assert_eq!(detect(b"PK\x03\x04garbage", "a.zip"), None);
    }

    #[test]
    fn names_follow_the_type() {
        assert_eq!(stored_name("run.bat", &TEXT), "run.txt");
        assert_eq!(stored_name("x.ps1", &TEXT), "x.txt");
        assert_eq!(stored_name("notes.TXT", &TEXT), "notes.TXT");
        assert_eq!(stored_name("budget.xlsm", &ZIP), "budget.zip");
        assert_eq!(stored_name("tool.jar", &ZIP), "tool.zip");
        assert_eq!(stored_name("photo.JPEG", &JPEG), "photo.JPEG");
        assert_eq!(stored_name("README", &TEXT), "README.txt");
        assert_eq!(stored_name(".bashrc", &TEXT), "bashrc.txt");
        assert_eq!(stored_name("a.pdf.exe", &PDF), "a.pdf.pdf");
        assert_eq!(stored_name("../../x.hta", &TEXT), "x.txt");
        assert_eq!(download_name("old.vbs", "text/plain"), "old.txt");
        assert_eq!(download_name("old.exe", "application/x-unknown"), "old.bin");
    }
}
