"""Is the licensed data folder complete and intact?

The corpora, MedDRA and the lexicons are licensed: the project never ships them, each user
obtains them and places them in one folder named by the environment variable `SPACY_ADR_DATA`.
`check_data` compares that folder with its `SHA256SUMS` (lines `<sha256>  ./relative/path`,
as `sha256sum` writes them) and, when that file is absent, with the list of expected files and
checksums embedded here. Every missing or changed file is reported with where to obtain it.
Checksums are facts about the files, not the data, so they may live in the repository.
"""
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Optional, Tuple, Union

from spacy_adr.errors import InputError

DATA_ENV_VAR = "SPACY_ADR_DATA"
SUMS_NAME = "SHA256SUMS"
_CHUNK = 1 << 20
_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


@dataclass(frozen=True)
class DataSource:
    """One data set of the data folder: what it is, its terms, where to get it, what reads it.

    The one place where names, licences and URLs of the data are written: check-data's
    messages (`SOURCES`), the packages' meta.json (`spacy_adr_builder.packaging.meta`) and the README's
    data table (`spacy-adr-builder data-sources`) are all made from these records.

    key (str): Short identifier, used by the package meta templates (configs/meta_*.json).
    prefix (str): Path under the data folder: a folder ending in "/" or one file.
    name (str): Name of the data set.
    what (str): What it holds, in a few words.
    license (str): Its terms of use, in a few words.
    obtain (str): How a user obtains it.
    url (str): Where.
    used_for (str): What the project does with it ("not read ..." for files only checked).
    layout (Tuple[str, ...]): The files check-data expects under `prefix`, relative to it, with
        shell-style braces ("{en,ru}/train.tsv"); empty when `prefix` is a file.
    note (str): Anything else a user must know to place it.
    """

    key: str
    prefix: str
    name: str
    what: str
    license: str
    obtain: str
    url: str
    used_for: str
    layout: Tuple[str, ...]
    note: str = ""

    @property
    def message(self) -> str:
        """The sentence check-data prints after "Obtain it from:"."""
        text = f"{self.name} ({self.what}; {self.license}): {self.obtain}, {self.url}"
        return f"{text} ({self.note})" if self.note else text


SMM4H_2020_URL = "https://healthlanguageprocessing.org/smm4h-shared-task-2020/"
SMM4H_ORGANISERS = (
    "request it from the SMM4H shared-task organisers (Health Language Processing Center, "
    "University of Pennsylvania)"
)
SMM4H_DUA = "SMM4H organisers' data-use agreement"
KFU_REPO = "https://github.com/dartrevan/ChemTextMining"
NOT_READ = "not read by the project's commands (check-data expects it)"

DATA_SOURCES: Tuple[DataSource, ...] = (
    DataSource(
        key="smm4h2020_task3", prefix="smm4h2020_task3_en/", name="SMM4H 2020 Task 3",
        what="English ADR extraction and MedDRA normalisation: tweets, ADR spans, LLT codes",
        license=SMM4H_DUA, obtain=SMM4H_ORGANISERS, url=SMM4H_2020_URL,
        used_for="en_adr_smm4h: NER training and dev, linker training mentions and its mention "
        "memory, the dev stream that sets the span gate; the drug lexicon (train's drug column) and "
        "the drug attribution's evaluation (dev)",
        layout=("task3_training.tsv", "task3_validation.tsv"),
    ),
    DataSource(
        key="smm4h2020_task2", prefix="smm4h2020_task2_classification/", name="SMM4H 2020 Task 2",
        what="ADR tweet classification, en/ru/fr", license=SMM4H_DUA, obtain=SMM4H_ORGANISERS,
        url=SMM4H_2020_URL,
        used_for="tweet classifiers of en_adr_smm4h (en) and xx_adr_smm4h (en, ru, fr); NoADR "
        "tweets as NER negatives and in the dev stream; thresholds chosen on dev; test sets for "
        "the submission files",
        layout=("{en,ru,fr}/{train,dev,test}.tsv",),
    ),
    DataSource(
        key="smm4h2017", prefix="smm4h2017_task3_norm/", name="SMM4H 2017 Task 3",
        what="AMIA shared task, concept normalisation: mentions with MedDRA PT codes",
        license=SMM4H_DUA, obtain=SMM4H_ORGANISERS,
        url="https://healthlanguageprocessing.org/",
        used_for="en_adr_smm4h: linker training mentions (PTs mapped to LLTs; data_test is not read)",
        layout=(
            "data_train/README.txt", "data_train/task_3_training{1,2,3,4}_amiaformat.txt",
            "data_test/task_3_test1_amiaformat_to_release.txt",
        ),
    ),
    DataSource(
        key="cadec", prefix="cadec/", name="CADEC v2",
        what="AskaPatient posts with ADR spans and MedDRA codes",
        license="CSIRO Data Licence, non-commercial, no redistribution",
        obtain="download it from CSIRO's Data Access Portal (collection csiro:10948)",
        url="https://data.csiro.au/collection/csiro:10948",
        used_for="en_adr_smm4h: linker training mentions; the drug lexicon (Drug entities with their "
        "SNOMED CT concepts)",
        layout=(
            "CADEC.v2.zip", "metadata/CSIRO Data Licence.html", "metadata/collection_import_sha256sum.txt",
            "metadata/dublincore-000010948v003.xml",
        ),
    ),
    DataSource(
        key="cadec_kfu_folds", prefix="cadec/kfu_cadec_folds_5_tags/",
        name="CADEC 5-fold split of the KFU group",
        what="CADEC as token-level CoNLL folds", license="derived from CADEC: CSIRO Data Licence",
        obtain="folder cadec_folds_5_tags of the KFU ChemTextMining repository", url=KFU_REPO,
        used_for=NOT_READ,
        layout=("{0,1,2,3,4}/train/{corpus-conll.csv,train.json}", "{0,1,2,3,4}/test/{corpus-conll.csv,test.json}"),
    ),
    DataSource(
        key="psytar", prefix="psytar/PsyTAR_dataset.xlsx", name="PsyTAR",
        what="psychiatric drug reviews with sentence labels and ADR mentions, Zolnoori et al. 2019",
        license="CC BY 4.0", obtain="download it from its publication page",
        url="https://www.askapatient.com/research/pharmacovigilance/corpus-ades-psychiatric-medications.asp",
        used_for="xx_adr_smm4h: multilabel sentence pre-training of the bilingual classifier",
        layout=(),
    ),
    DataSource(
        key="psytar_conll", prefix="psytar/basaldella_conll/", name="PsyTAR in CoNLL form",
        what="Basaldella and Collier 2019", license="derived from PsyTAR: CC BY 4.0",
        obtain="build it from PsyTAR_dataset.xlsx with the psytarpreprocessor scripts",
        url="https://github.com/basaldella/psytarpreprocessor", used_for=NOT_READ,
        layout=("{all,conflated}/{train,dev,test,full}.txt", "binary/{train,dev,test,full}.csv"),
    ),
    DataSource(
        key="rudrec", prefix="rudrec/", name="RuDReC",
        what="Russian drug reviews, Tutubalina et al. 2021",
        license="the authors' research release; no licence stated",
        obtain="the annotated part of the authors' release", url="https://github.com/cimm-kzn/RuDReC",
        used_for="xx_adr_smm4h: multilabel sentence pre-training of the bilingual classifier; "
                 "the xx-ner workflow's Russian ADR NER (split by review for dev and cross-validation)",
        layout=("rudrec_annotated.json",),
    ),
    DataSource(
        key="meddra", prefix="meddra/", name="MedDRA",
        what="Medical Dictionary for Regulatory Activities, Lowest Level Terms",
        license="proprietary: may be used only under a MedDRA licence from the MSSO",
        obtain="licensed by the MSSO to subscribers", url="https://www.meddra.org/subscription",
        used_for="en_adr_smm4h: the linker's concepts and name index, gazetteer terms (llt.tsv; the "
        "patient-friendly term list is not read)",
        layout=("llt.tsv", "patient-friendly_term_list_v25.0.xlsx"),
        note="llt.tsv holds the llt.asc columns llt_code llt_name pt_code llt_currency; from an "
        "official release write it with `spacy-adr-builder convert meddra MedAscii/ meddra/llt.tsv` and list "
        "your files' checksums in SHA256SUMS",
    ),
    DataSource(
        key="kfu_lexicons", prefix="lexicons/kfu_chemtextmining_vocabularies/",
        name="KFU ADR lexicons", what="ADR and disease term lists, one term a line",
        license="no licence stated in the repository",
        obtain="folder vocabularies of the KFU ChemTextMining repository", url=KFU_REPO,
        used_for="en_adr_smm4h: gazetteer terms, and names kept out of the drug lexicon "
        "(adr_lexicon.txt; the other lists are not read)",
        layout=(
            "adr_lexicon.txt", "dict_do.txt", "dict_finding.txt", "dict_patterns.txt", "dict_wiki.txt",
            "webmd_conditions.txt",
        ),
    ),
    DataSource(
        key="kfu_webmd", prefix="lexicons/kfu_chemtextmining_webmd/", name="KFU WebMD corpus",
        what="annotated WebMD reviews", license="no licence stated in the repository",
        obtain="the WebMD data of the KFU ChemTextMining repository", url=KFU_REPO,
        used_for="en_adr_smm4h: the drug lexicon (the review titles' drugs; the annotations are not "
        "read)", layout=("webmd_corpus.json",),
    ),
)


def data_source(key: str) -> DataSource:
    """The data set with this key.

    key (str): A `DataSource.key`, e.g. "meddra".
    RETURNS (DataSource): The record.
    """
    for source in DATA_SOURCES:
        if source.key == key:
            return source
    raise KeyError(f"Unknown data set {key!r}; known: {[s.key for s in DATA_SOURCES]}")


# Where a user obtains the files under each folder; the longest matching prefix wins.
SOURCES: Dict[str, str] = {source.prefix: source.message for source in DATA_SOURCES}
UNKNOWN_SOURCE = "not a file spacy_adr knows; see the data README for where it came from"

# (relative path, sha256) of every file of the development data folder, copied from its SHA256SUMS.
_CHECKSUMS: Tuple[Tuple[str, str], ...] = (
    ("cadec/CADEC.v2.zip",
     "4045b926a0a5735f00f785f7ad935e5a73731d6ab607d11d88880a334be18c4a"),
    ("cadec/kfu_cadec_folds_5_tags/0/test/corpus-conll.csv",
     "5b648c89123387fe7732170e0e8759cff99885e3f62a3fd8842152f9e28ef678"),
    ("cadec/kfu_cadec_folds_5_tags/0/test/test.json",
     "9f685881b3241a30022f852f4086476fa408f0e7a4231cdfd58d6f43cd408f29"),
    ("cadec/kfu_cadec_folds_5_tags/0/train/corpus-conll.csv",
     "282d8b938c9406e463ca5acd24945db0b6510af3480e5a89c836946a4931fee8"),
    ("cadec/kfu_cadec_folds_5_tags/0/train/train.json",
     "93911b0ac53e106a7dfbc28587d1af64a22b55cd6ebeec1f80f6efa5e3db5abb"),
    ("cadec/kfu_cadec_folds_5_tags/1/test/corpus-conll.csv",
     "4f70cd5cfc8dafa8091c8e45024c5dbf10e32d94399a1faa400998b11b8d7ad7"),
    ("cadec/kfu_cadec_folds_5_tags/1/test/test.json",
     "eec308dc016ac539ed3e39a1317a7586a6a91c43037b8333302fde304afd4a58"),
    ("cadec/kfu_cadec_folds_5_tags/1/train/corpus-conll.csv",
     "82d6365c718dcd15b0f8668b517fc1fbf86c9e12eb1fa1c31eb83c996285bfe3"),
    ("cadec/kfu_cadec_folds_5_tags/1/train/train.json",
     "381f1be40c4980f57ae9b32d94f1addf191a136f0152d105cc2f84da6ac87df9"),
    ("cadec/kfu_cadec_folds_5_tags/2/test/corpus-conll.csv",
     "d9ce4ec97fea9d6844d60baae59f3e25e898e65a90b577f70f25922b01bc27ea"),
    ("cadec/kfu_cadec_folds_5_tags/2/test/test.json",
     "d7f72918e4630f12193175a4ac365e5f9c7f1750a0de56f818c425abab7db686"),
    ("cadec/kfu_cadec_folds_5_tags/2/train/corpus-conll.csv",
     "5c8435be0e4560e3b0dbc9474026a80818ef0984c6a7439b4671c3d2cf2544b2"),
    ("cadec/kfu_cadec_folds_5_tags/2/train/train.json",
     "c313bb57ca674096406d78edeaa79bfaeedd27a7f28b3abc6fb29c1b4f4d0761"),
    ("cadec/kfu_cadec_folds_5_tags/3/test/corpus-conll.csv",
     "73fba907b24fa3becd8401360ec5cf19dee941749c3dd44f62d6f06051aa5487"),
    ("cadec/kfu_cadec_folds_5_tags/3/test/test.json",
     "1f9303b9e2fa215640253ffac217e4402cd364d2beda7ceddfbd8d6cd8f7bceb"),
    ("cadec/kfu_cadec_folds_5_tags/3/train/corpus-conll.csv",
     "2327b18fb640a3edc814b465a14867b44c4b212de99bdebbc6b37227b288f04c"),
    ("cadec/kfu_cadec_folds_5_tags/3/train/train.json",
     "0140cc41c64778c0eb5276c91fef410632f9b028a11f7c20e67658cea0d870cc"),
    ("cadec/kfu_cadec_folds_5_tags/4/test/corpus-conll.csv",
     "ae3877430ea2299a350f60d830d7d2a15d38c0b621830efe1dfff4ea7652c975"),
    ("cadec/kfu_cadec_folds_5_tags/4/test/test.json",
     "92e97d52fb334d5c939f26af1ed872d91caea776c364ddcfcea74ec5323acb79"),
    ("cadec/kfu_cadec_folds_5_tags/4/train/corpus-conll.csv",
     "b49984b3c31d9c659a70535901ad733c9afb035dca865d845446b4d1d5469098"),
    ("cadec/kfu_cadec_folds_5_tags/4/train/train.json",
     "16d7e3970cbe1ced45f7156e913942a59bb57c4b10f67ee0c8ce97bad33c7bde"),
    ("cadec/metadata/CSIRO Data Licence.html",
     "d0a9b67bf22a5c45facbf3c676c081f8aab6a079d56a8e055e4d3e59cb092ffc"),
    ("cadec/metadata/collection_import_sha256sum.txt",
     "3685cfda2a76807d6de7a77beb4186b8229d39667bebfad94d33fe5b535c938f"),
    ("cadec/metadata/dublincore-000010948v003.xml",
     "fc6b80788158521dd7f65de8bf39935afd9c6f2e6a9b46ca94b4a2b73924bbb0"),
    ("lexicons/kfu_chemtextmining_vocabularies/adr_lexicon.txt",
     "88ba7a08e0fb56641d451a97b424b846f1b2322901f8a58c7ffe7a697606914d"),
    ("lexicons/kfu_chemtextmining_vocabularies/dict_do.txt",
     "f2c8ce7ea5b54890283a38cba01bca1c477a4d9ac10f3cc3407fc8a0ebf5f83a"),
    ("lexicons/kfu_chemtextmining_vocabularies/dict_finding.txt",
     "3a26c238f2c87fe9d91a46464c139298ab7c6a578deffa9bc915006aabb90fad"),
    ("lexicons/kfu_chemtextmining_vocabularies/dict_patterns.txt",
     "bf01bcf964a17bc8d524c5839b0838e40b260af6a85e8cbb072bdb854bfd0dbd"),
    ("lexicons/kfu_chemtextmining_vocabularies/dict_wiki.txt",
     "dcd8e87ed33f40ac49d7cddbe2828bc6a0cba2370d923be2f1c76a31addd1042"),
    ("lexicons/kfu_chemtextmining_vocabularies/webmd_conditions.txt",
     "06895ecd7db6d51e4e7855399e13420deb66bdc2eaabcb54120717aeb8dd7343"),
    ("lexicons/kfu_chemtextmining_webmd/webmd_corpus.json",
     "710c379e39f503d72df3e5b0cbed824b19de8b6e1d179ed20f3fe0061d7429d1"),
    ("meddra/llt.tsv",
     "f69370051facb6ec9f94ea095b09b47d98060e61fac09cef179a31f6f2bf20b2"),
    ("meddra/patient-friendly_term_list_v25.0.xlsx",
     "fdfd7e713effd00ab65aa2481b8883aee589dbc7da10765184e4f168e77e95f4"),
    ("psytar/PsyTAR_dataset.xlsx",
     "057bf5a170fd4e217318afc47ef38eacb014bb01e5f57176693bed29bc77050a"),
    ("psytar/basaldella_conll/all/dev.txt",
     "44695ea90f18c9200bda81149240e7f4eea929671c540f8f4b185f8184b554b5"),
    ("psytar/basaldella_conll/all/full.txt",
     "277e402b773009d53ae72d9367a4c73537277eb303284045fdb196a9597a6b73"),
    ("psytar/basaldella_conll/all/test.txt",
     "ee7bdb555a282943a9ab57f2ee2fe01b07b8c2405d10deeae9f40170a6b8c6e4"),
    ("psytar/basaldella_conll/all/train.txt",
     "a3f2e583e58151646ef27aee512030a8a08870e795125e6d991f85403190f296"),
    ("psytar/basaldella_conll/binary/dev.csv",
     "90f01cb2047f72434717e419f18d44f8c668c9d032fe3c7bd6d5027f2995b561"),
    ("psytar/basaldella_conll/binary/full.csv",
     "4c3e0d544c245e40404731ea506a832c539c1ac9cb28763989669f72742981c5"),
    ("psytar/basaldella_conll/binary/test.csv",
     "def357d86ec1541e2e3108df7dcb402ec92f7a5fb7d60ac35111bc8a04f386ed"),
    ("psytar/basaldella_conll/binary/train.csv",
     "76d266db22c731d1771db46bea846ed10ade5c82d8b6fdd9a968190c7889df6a"),
    ("psytar/basaldella_conll/conflated/dev.txt",
     "0566027d315265a995f5e3ce2e045e708595a9ff46966d65f3ed4ad38bdd43f7"),
    ("psytar/basaldella_conll/conflated/full.txt",
     "6aa2898bd4e6285cb6cb1acc43ac91a7134995fc44541920f280b73119cd0511"),
    ("psytar/basaldella_conll/conflated/test.txt",
     "a4a45096678c43eb9274c305f48551c1c0ad54e6e4336c2b330e486472fe0a18"),
    ("psytar/basaldella_conll/conflated/train.txt",
     "b16b0c295013d51dcbc61a80e3e9d476209aee2b6d77444887f2fc3c1bf3526b"),
    ("rudrec/rudrec_annotated.json",
     "bb58f84d86ebae8dd122a9d8b99c173b84190cd31e70ad0143c2fd466245cb0f"),
    ("smm4h2017_task3_norm/data_test/task_3_test1_amiaformat_to_release.txt",
     "3f1876955bb96941c55fd8fbeb377bcc624ff1819f7b97ce759d54982e35d793"),
    ("smm4h2017_task3_norm/data_train/README.txt",
     "77809e0113458462023666dc5ed41d037e05b93046bd4428cf1889d58edfa3f2"),
    ("smm4h2017_task3_norm/data_train/task_3_training1_amiaformat.txt",
     "ff4270edcee4530bb13f7f14de605f76164767b87a2aa9f01ad211ec341b1f43"),
    ("smm4h2017_task3_norm/data_train/task_3_training2_amiaformat.txt",
     "cd7fb9624e4a99cd8a3841b2838c364792f6873703e8f22b6458ec8b88f52a83"),
    ("smm4h2017_task3_norm/data_train/task_3_training3_amiaformat.txt",
     "df75c75c23f4479251423736f09af394e031c7845615b12cd9e6e462347d2627"),
    ("smm4h2017_task3_norm/data_train/task_3_training4_amiaformat.txt",
     "775965c83e0fd5556ed32dbd81d3e0ebfb7b2360b566ebcbac3535873fa7a107"),
    ("smm4h2020_task2_classification/en/dev.tsv",
     "c938593341631b8f6974898a44d1714ce48d02672acc6f4b78d7cdb36346f978"),
    ("smm4h2020_task2_classification/en/test.tsv",
     "2aff2473e9fc108048ec2bd7b91c82fa414486cb300c3ae97ece6d54f859fade"),
    ("smm4h2020_task2_classification/en/train.tsv",
     "6f058da105fd44bd780da8a91cc0f3b1b5eedeced57295f68fd3bd683a42663a"),
    ("smm4h2020_task2_classification/fr/dev.tsv",
     "c35ee6231318d37c836325229c6001cb25515009d89b258087998d8252a8c736"),
    ("smm4h2020_task2_classification/fr/test.tsv",
     "e78f3ed348df6e42c116db3ad43c3262f18c2f331e84f334645a10275ab99d4c"),
    ("smm4h2020_task2_classification/fr/train.tsv",
     "3a4773975e0073e1e5bdce422137e54b8a442fb77f3ace2bc5d3a1d7d64f5f84"),
    ("smm4h2020_task2_classification/ru/dev.tsv",
     "ae7e750073543f525edf4e5d59cc0f3e723ca3a8729a102be930d8a85bd92970"),
    ("smm4h2020_task2_classification/ru/test.tsv",
     "d2e42889c33d8cfd89eac105e1f713f3c05f65813f8f3aeaf2606b7b34efe19b"),
    ("smm4h2020_task2_classification/ru/train.tsv",
     "5807721ffea031b804ec07ee4dd1e484e7f8de5ef46652fa915366c7ff15a2a3"),
    ("smm4h2020_task3_en/task3_training.tsv",
     "6629ee10971653946034d566b4b70da1075ccc783c38d5a08ac25f173aa4b7ff"),
    ("smm4h2020_task3_en/task3_validation.tsv",
     "c3f04017f94859a18968af8a32a4d18e5ea349b579027ee1255bad01d4067a25"),
)


@dataclass(frozen=True)
class RequiredFile:
    """A file the data folder must hold.

    path (str): Path relative to the data folder, with "/" separators.
    sha256 (str): Expected SHA-256, lowercase hex.
    source (str): Where a user obtains it.
    """

    path: str
    sha256: str
    source: str


def source_of(path: str) -> str:
    """Where a user obtains the data file at `path` (relative to the data folder).

    path (str): Relative path with "/" separators.
    RETURNS (str): A sentence naming the source and its terms.
    """
    matches = [prefix for prefix in SOURCES if path == prefix or path.startswith(prefix)]
    return SOURCES[max(matches, key=len)] if matches else UNKNOWN_SOURCE


REQUIRED_FILES: Tuple[RequiredFile, ...] = tuple(
    RequiredFile(path, sha256, source_of(path)) for path, sha256 in _CHECKSUMS
)


@dataclass(frozen=True)
class FileIssue:
    """A missing or changed data file.

    path (str): Path relative to the data folder.
    kind (str): "missing" or "mismatch".
    expected (str): Expected SHA-256.
    actual (Optional[str]): SHA-256 found, for a mismatch.
    source (str): Where to obtain the file.
    """

    path: str
    kind: str
    expected: str
    actual: Optional[str]
    source: str

    @property
    def message(self) -> str:
        if self.kind == "missing":
            return f"{self.path} is missing. Obtain it from: {self.source}"
        return (
            f"{self.path} differs from the expected file (sha256 {self.actual}, expected "
            f"{self.expected}): it may be another release or damaged. Obtain it from: {self.source}"
        )


@dataclass
class DataCheckResult:
    """Outcome of `check_data`.

    data_dir (Path): The folder checked.
    sums_path (Optional[Path]): The SHA256SUMS file used; None when the embedded list was used.
    checked (List[str]): Relative paths of all expected files.
    missing (List[FileIssue]): Expected files that are absent.
    mismatched (List[FileIssue]): Files whose checksum differs.
    """

    data_dir: Path
    sums_path: Optional[Path]
    checked: List[str] = field(default_factory=list)
    missing: List[FileIssue] = field(default_factory=list)
    mismatched: List[FileIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched

    @property
    def issues(self) -> List[FileIssue]:
        return self.missing + self.mismatched

    def messages(self) -> List[str]:
        """One message per problem, naming the file and where to obtain it."""
        return [issue.message for issue in self.issues]

    def summary(self) -> str:
        against = str(self.sums_path) if self.sums_path else "the file list built into spacy_adr"
        return (
            f"{self.data_dir}: {len(self.checked)} files checked against {against}: "
            f"{len(self.missing)} missing, {len(self.mismatched)} changed"
        )


def read_sums(path: Union[str, Path]) -> List[Tuple[str, str]]:
    """Read a `sha256sum` checksum file.

    path (Union[str, Path]): The file; lines `<sha256>  ./relative/path` (or `*path`).
    RETURNS (List[Tuple[str, str]]): (relative path without "./", lowercase sha256) pairs.
    """
    path = Path(path)
    pairs = []
    for line_no, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        try:
            line = raw.decode("utf8").rstrip("\r")
        except UnicodeDecodeError:
            raise InputError(path, line_no, "checksum line is not valid UTF-8") from None
        if not line.strip() or line.startswith("#"):
            continue
        match = _SUMS_LINE.match(line)
        if match is None:
            raise InputError(path, line_no, f"expected '<sha256>  ./relative/path', found {line[:80]!r}")
        rel = PurePosixPath(match.group(2))
        if rel.is_absolute() or ".." in rel.parts:
            raise InputError(path, line_no, f"path must stay inside the data folder: {match.group(2)!r}")
        pairs.append((rel.as_posix(), match.group(1).lower()))
    return pairs


def sha256_file(path: Union[str, Path]) -> str:
    """SHA-256 of a file, read in chunks so big archives need little memory.

    path (Union[str, Path]): The file.
    RETURNS (str): Lowercase hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_data(
    data_dir: Union[str, Path],
    sums_path: Optional[Union[str, Path]] = None,
    *,
    only: Optional[Iterable[str]] = None,
    verify_checksums: bool = True,
) -> DataCheckResult:
    """Check that the data folder holds every expected file, unchanged.

    data_dir (Union[str, Path]): The data folder.
    sums_path (Optional[Union[str, Path]]): Checksum file to check against. None: the folder's
        own SHA256SUMS, or the list built into this module when the folder has none.
    only (Optional[Iterable[str]]): Check only files under these relative paths or prefixes
        (e.g. ["meddra/", "smm4h2020_task3_en/"]) — for a command that needs part of the data.
    verify_checksums (bool): Hash the files; False checks only that they exist.
    RETURNS (DataCheckResult): Missing and changed files, each with a message.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(
            f"Data folder {data_dir} does not exist. Set {DATA_ENV_VAR} to the folder holding the "
            "licensed data (see the README for how to obtain each part)."
        )
    if sums_path is None and (data_dir / SUMS_NAME).is_file():
        sums_path = data_dir / SUMS_NAME
    if sums_path is not None:
        sums_path = Path(sums_path)
        expected = [RequiredFile(p, h, source_of(p)) for p, h in read_sums(sums_path)]
    else:
        expected = list(REQUIRED_FILES)
    if only is not None:
        prefixes = (only,) if isinstance(only, str) else tuple(only)
        expected = [f for f in expected if f.path.startswith(prefixes)]
    result = DataCheckResult(data_dir=data_dir, sums_path=sums_path)
    for required in expected:
        result.checked.append(required.path)
        file = data_dir / required.path
        if not file.is_file():
            result.missing.append(FileIssue(required.path, "missing", required.sha256, None, required.source))
            continue
        if verify_checksums:
            actual = sha256_file(file)
            if actual != required.sha256:
                result.mismatched.append(
                    FileIssue(required.path, "mismatch", required.sha256, actual, required.source)
                )
    return result


def data_dir_from_env() -> Path:
    """The data folder named by the environment variable SPACY_ADR_DATA.

    RETURNS (Path): The folder.
    """
    value = os.environ.get(DATA_ENV_VAR, "").strip()
    if not value:
        raise EnvironmentError(
            f"{DATA_ENV_VAR} is not set. spacy_adr reads its licensed corpora, MedDRA and lexicons "
            f"from the folder this variable names (they cannot be shipped with the package): "
            f"obtain them as the README describes, put them in one folder and run e.g. "
            f"`export {DATA_ENV_VAR}=/path/to/data`."
        )
    path = Path(value).expanduser()
    if not path.is_dir():
        raise EnvironmentError(f"{DATA_ENV_VAR}={value} is not a folder. Point it at the data folder.")
    return path
