"""Deterministic demo data: the West Coast branch's org plan and vectorised household chunks (no ORM)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from xinedai.households import rules

# The org plan never depends on the household seed, so reseeding with another seed reuses the same tree.
ORG_SEED = 20220630
CHUNK_HOUSEHOLDS = 50_000

HEAD_OFFICE = ("HO", "青岛农商银行")
BRANCH = ("B01", "西海岸分行")

SEGMENTS = ("greenhouse", "breeder", "business", "smb_owner", "salaried", "other")
VILLAGE_TYPES = ("greenhouse", "livestock", "crops", "coastal", "town", "urban")
S_GREENHOUSE, S_BREEDER, S_BUSINESS, S_SMB, S_SALARIED, S_OTHER = range(6)
V_GREENHOUSE, V_LIVESTOCK, V_CROPS, V_COASTAL, V_TOWN, V_URBAN = range(6)

# Primary-segment mix by village economy (rows: VILLAGE_TYPES, columns: SEGMENTS).
SEGMENT_MIX = np.array(
    [
        [0.66, 0.05, 0.07, 0.02, 0.10, 0.10],  # greenhouse villages: 大棚种植
        [0.08, 0.55, 0.07, 0.02, 0.13, 0.15],  # livestock villages: 养殖大户
        [0.10, 0.08, 0.12, 0.02, 0.23, 0.45],  # field crops
        [0.04, 0.12, 0.30, 0.05, 0.19, 0.30],  # coastal: fishing boats and aquaculture as businesses
        [0.05, 0.03, 0.35, 0.12, 0.30, 0.15],  # market towns
        [0.00, 0.00, 0.22, 0.10, 0.55, 0.13],  # urban communities
    ]
)
SECOND_SEGMENT_RATE = 0.18


@dataclass(frozen=True)
class OutletPlan:
    code: str
    name: str
    place: str
    town: str
    town_no: int
    type_weights: tuple[float, ...]  # over VILLAGE_TYPES


# (place, town or street, village-type weights over VILLAGE_TYPES). Urban outlets come first.
OUTLETS: tuple[tuple[str, str, tuple[float, ...]], ...] = (
    ("黄岛", "黄岛街道", (0, 0, 0, 0, 0.2, 0.8)),
    ("长江路", "长江路街道", (0, 0, 0, 0, 0.1, 0.9)),
    ("辛安", "辛安街道", (0.1, 0, 0, 0, 0.3, 0.6)),
    ("薛家岛", "薛家岛街道", (0, 0, 0, 0.4, 0.2, 0.4)),
    ("灵山卫", "灵山卫街道", (0, 0, 0.3, 0.4, 0.3, 0)),
    ("王台", "王台镇", (0.4, 0.1, 0.3, 0, 0.2, 0)),
    ("张家楼", "张家楼街道", (0.5, 0.2, 0.3, 0, 0, 0)),
    ("藏马", "藏马镇", (0.3, 0.3, 0.4, 0, 0, 0)),
    ("泊里", "泊里镇", (0, 0.2, 0.35, 0.3, 0.15, 0)),
    ("大场", "大场镇", (0.4, 0, 0.3, 0.3, 0, 0)),
    ("海青", "海青镇", (0.3, 0.2, 0.5, 0, 0, 0)),
    ("六汪", "六汪镇", (0.2, 0.45, 0.35, 0, 0, 0)),
)


@dataclass(frozen=True)
class GridPlan:
    code: str
    name: str
    outlet_code: str
    parent_code: str | None
    owner: str  # username


@dataclass(frozen=True)
class VillagePlan:
    code: str
    name: str
    kind: str  # village | community
    village_type: str
    grid_code: str
    town: str
    weight: float  # relative number of households on file


@dataclass(frozen=True)
class StaffPlan:
    username: str
    display_name: str
    role: str
    org_code: str
    employee_no: str


@dataclass(frozen=True)
class OrgPlan:
    outlets: tuple[OutletPlan, ...]
    grids: tuple[GridPlan, ...]
    villages: tuple[VillagePlan, ...]
    staff: tuple[StaffPlan, ...]


# ---------------------------------------------------------------------------------------------- names

# Common surnames of Qingdao's West Coast with rough weights (薛, 丁, 臧, 逄 are local).
SURNAMES = (
    ("王", 110),
    ("张", 70),
    ("刘", 60),
    ("李", 60),
    ("陈", 30),
    ("杨", 28),
    ("赵", 28),
    ("孙", 30),
    ("于", 26),
    ("徐", 24),
    ("薛", 22),
    ("丁", 20),
    ("高", 20),
    ("宋", 18),
    ("姜", 18),
    ("马", 14),
    ("周", 12),
    ("吴", 10),
    ("郑", 10),
    ("胡", 10),
    ("郭", 10),
    ("朱", 10),
    ("林", 10),
    ("韩", 10),
    ("曲", 9),
    ("邵", 8),
    ("崔", 8),
    ("董", 8),
    ("臧", 8),
    ("逄", 7),
    ("宫", 6),
    ("冷", 6),
    ("管", 6),
    ("隋", 5),
    ("纪", 5),
    ("秦", 5),
    ("彭", 5),
    ("潘", 5),
    ("袁", 4),
    ("蒋", 4),
)
_SURNAME_CHARS = [s for s, _ in SURNAMES]
_SURNAME_P = np.array([w for _, w in SURNAMES], dtype=float) / sum(w for _, w in SURNAMES)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Given names by sex and generation: born before 1970, 1970-1989, 1990 and later.
GIVEN_NAMES: dict[tuple[bool, int], tuple[str, ...]] = {
    (True, 0): _words(
        "建国 国强 志刚 德明 福生 洪涛 永祥 树林 春生 玉峰 宝山 振华 学军 立新 "
        "庆林 文华 金山 维民 景春 长林 兆丰 云龙 德胜 光明 强 军 刚 勇 明 林 "
        "海 山 福 顺"
    ),
    (True, 1): _words(
        "海涛 建华 志强 文斌 俊杰 晓东 新民 明辉 春雷 永刚 洪波 成龙 立峰 晓明 "
        "建军 海波 宏伟 国栋 振宇 金龙 鹏 磊 伟 勇 军 健 波 超 刚 亮 斌 涛"
    ),
    (True, 2): _words(
        "浩然 子豪 宇航 俊熙 梓轩 博文 一鸣 家豪 明轩 皓宇 子墨 天佑 思远 晨阳 嘉乐 泽宇 鑫 哲 昊 宇 旭 博 凯 帅 阳 硕"
    ),
    (False, 0): _words(
        "秀英 桂兰 玉兰 秀兰 凤英 玉珍 淑珍 桂英 秀珍 玉梅 春兰 金凤 玉华 翠花 "
        "素芬 淑英 桂芳 秀芳 丽华 美兰 英 兰 芳 梅 华"
    ),
    (False, 1): _words(
        "丽娟 海燕 红梅 晓燕 春燕 秀梅 玉洁 晓红 雪梅 美玲 彩霞 丽丽 艳 静 丽 娜 敏 燕 芳 霞 莉 慧 婷 洁 红"
    ),
    (False, 2): _words(
        "梓涵 欣怡 子萱 雨桐 诗涵 梦瑶 思雨 佳怡 可馨 一诺 语桐 若曦 婷婷 晨曦 欣悦 雪 琳 璐 倩 悦 萌 璇 颖"
    ),
}

_VILLAGE_POS = ("", "", "", "东", "西", "南", "北", "前", "后", "大", "小", "上", "下")
_VILLAGE_SUFFIX = ("庄", "庄", "村", "屯", "疃", "洼", "沟", "岭", "河", "台", "埠", "官庄", "店子", "崖")
_COASTAL_STEM = ("石雀", "鱼鸣", "金沙", "银沙", "渔", "海", "沙", "礁", "南港", "北港", "盐", "望海", "龙湾")
_COASTAL_SUFFIX = ("滩", "湾", "嘴", "岛", "口", "港")
_COMMUNITY_STEM = _words(
    "阳光 海韵 滨海 长江 嘉陵江 珠江 漓江 黄河 峨眉山 井冈山 香江 金沙 银杏 "
    "紫荆 东城 西城 南湖 北苑 育才 新华 和平 幸福 丰和 瑞源 福瀛 隆和 海尔 "
    "前湾 凤凰 海岸 星光 锦绣 青年 兴华 安居 泰山 昆仑山 武夷山 庐山 衡山"
)
_CN_NUM = "一二三四五六七八九"


def _village_name(rnd: random.Random, vtype: str, kind: str) -> str:
    if kind == "community":
        stem = rnd.choice(_COMMUNITY_STEM)
        return f"{stem}{rnd.choice(('', '', '花园', '新城', '第' + rnd.choice(_CN_NUM)))}社区"
    if vtype == "coastal" and rnd.random() < 0.6:
        return f"{rnd.choice(_VILLAGE_POS)}{rnd.choice(_COASTAL_STEM)}{rnd.choice(_COASTAL_SUFFIX)}村"
    surname = rnd.choices(_SURNAME_CHARS, weights=list(_SURNAME_P))[0]
    name = f"{rnd.choice(_VILLAGE_POS)}{surname}家{rnd.choice(_VILLAGE_SUFFIX)}"
    return name if name.endswith("村") else name + "村"


def _person_name(rnd: random.Random, male: bool, generation: int) -> str:
    surname = rnd.choices(_SURNAME_CHARS, weights=list(_SURNAME_P))[0]
    return surname + rnd.choice(GIVEN_NAMES[(male, generation)])


def plan_org() -> OrgPlan:
    """The bank's fixed demo tree: 12 outlets, 60 grids, ~300 villages and communities, 67 staff."""
    rnd = random.Random(ORG_SEED)
    outlets: list[OutletPlan] = []
    grids: list[GridPlan] = []
    villages: list[VillagePlan] = []
    staff: list[StaffPlan] = []
    used_names: set[str] = set()
    employee = iter(range(1, 1000))

    def add_staff(username: str, role: str, org_code: str, male: bool | None = None) -> None:
        is_male = rnd.random() < 0.55 if male is None else male
        staff.append(
            StaffPlan(
                username, _person_name(rnd, is_male, rnd.choice((1, 1, 2))), role, org_code, f"0211{next(employee):04d}"
            )
        )

    for o, (place, town, weights) in enumerate(OUTLETS, start=1):
        outlet = OutletPlan(f"{BRANCH[0]}-O{o:02d}", f"{place}支行", place, town, o, weights)
        outlets.append(outlet)
        add_staff(f"om{o:02d}", "outlet_manager", outlet.code)
        ams = [f"am{(o - 1) * 4 + i:02d}" for i in range(1, 5)]
        for am in ams:
            add_staff(am, "account_manager", outlet.code)
        total_code = f"{outlet.code}-G0"
        grids.append(GridPlan(total_code, f"{place}支行总网格", outlet.code, None, ams[0]))
        community_no = village_no = 0
        for g, am in enumerate(ams, start=1):
            grid_code = f"{outlet.code}-G{g}"
            grids.append(GridPlan(grid_code, f"{place}支行第{g}子网格", outlet.code, total_code, am))
            for _ in range(rnd.randint(5, 7)):
                vtype = rnd.choices(VILLAGE_TYPES, weights=weights)[0]
                urban = vtype == "urban" or (vtype == "town" and rnd.random() < 0.6)
                kind = "community" if urban else "village"
                name = _village_name(rnd, vtype, kind)
                while name in used_names:
                    name = _village_name(rnd, vtype, kind)
                used_names.add(name)
                # Statistical-code style: county 370211, town, then 0xx for communities, 2xx for villages.
                if kind == "community":
                    community_no += 1
                    code = f"370211{o:03d}{community_no:03d}"
                else:
                    village_no += 1
                    code = f"370211{o:03d}{200 + village_no:03d}"
                weight = rnd.lognormvariate(0, 0.45) * (1.8 if kind == "community" else 1.0)
                villages.append(VillagePlan(code, name, kind, vtype, grid_code, town, round(weight, 4)))
    add_staff("co01", "credit_officer", BRANCH[0])
    add_staff("co02", "credit_officer", BRANCH[0])
    add_staff("bm01", "branch_manager", BRANCH[0])
    add_staff("risk01", "head_office_risk", HEAD_OFFICE[0])
    add_staff("admin01", "administrator", HEAD_OFFICE[0])
    add_staff("auditor01", "auditor", HEAD_OFFICE[0])
    return OrgPlan(tuple(outlets), tuple(grids), tuple(villages), tuple(staff))


# ---------------------------------------------------------------------------------------- identities

# Area codes of ID numbers by birth period. West Coast people born before the 2012 merger mostly hold
# 370284 (former 胶南市) numbers; newer births are 370211 (黄岛区). A few come from elsewhere.
AREAS = (
    "370211",
    "370284",
    "370281",
    "370282",
    "370283",
    "370285",
    "370202",
    "370203",
    "371102",
    "371321",
    "370725",
    "371122",
)
_AREA_P_OLD = np.array([0.20, 0.55, 0.06, 0.03, 0.03, 0.02, 0.02, 0.02, 0.03, 0.02, 0.01, 0.01])
_AREA_P_NEW = np.array([0.90, 0.00, 0.04, 0.00, 0.00, 0.00, 0.03, 0.03, 0.00, 0.00, 0.00, 0.00])
_MERGER = dt.date(2013, 1, 1).toordinal()
_DAY0 = dt.date(1900, 1, 1).toordinal()
_NDAYS = 60_000
_SEQ_SLOTS = 500  # per (area, birth date, sex): 3-digit sequence codes with the sex digit fixed

MOBILE_PREFIXES = (
    "138",
    "139",
    "137",
    "136",
    "135",
    "134",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "182",
    "183",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "186",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "173",
    "199",
    "198",
    "176",
    "178",
    "175",
    "191",
)
_PHONE_MUL = 61_803_399  # coprime with 10**8: suffixes of distinct member ordinals never repeat
_POW13_MOD11 = np.array([pow(13, k, 11) for k in range(17)], dtype=np.int64)


def resident_check_digits(bodies: np.ndarray) -> list[str]:
    """GB 11643 check characters of 17-digit bodies (int64), as python-stdnum computes them."""
    s = np.zeros(len(bodies), dtype=np.int64)
    b = bodies.copy()
    for k in range(17):
        s += (b % 10) * _POW13_MOD11[k]
        b //= 10
    check = (1 - 2 * (s % 11)) % 11
    return ["X" if c == 10 else str(c) for c in check.tolist()]


def _ymd(ordinals: np.ndarray) -> np.ndarray:
    d64 = (ordinals - dt.date(1970, 1, 1).toordinal()).astype("datetime64[D]")
    y = d64.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d64.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (d64 - d64.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return y * 10000 + m * 100 + d


# ------------------------------------------------------------------------------------------- chunks


@dataclass
class HouseholdChunk:
    """One chunk of generated households, members and file versions; rows point at households by index."""

    n: int
    village: np.ndarray  # index into the villages list
    address: list[str]
    size: list[int]
    segments: list[str]
    head_name: list[str]
    three_elements_complete: list[bool]
    created_at: list[dt.datetime]
    file_updated_at: list[dt.datetime]
    member_household: np.ndarray
    member_name: list[str]
    member_id_number: list[str | None]
    member_phone: list[str | None]
    member_relation: list[str]
    member_birth_date: list[dt.date]
    member_is_male: list[bool]
    version_household: np.ndarray
    version_number: list[int]
    version_created_at: list[dt.datetime]
    version_reason: list[str]
    version_values: dict[str, list[int]] = field(default_factory=dict)  # FILE_FIELDS and totals

    @property
    def members(self) -> int:
        return len(self.member_name)

    @property
    def versions(self) -> int:
        return len(self.version_number)

    def latest_version_index(self) -> np.ndarray:
        """Per household, the index of its highest version in the version arrays."""
        vh = self.version_household  # sorted by household, then version
        return np.flatnonzero(np.r_[vh[1:] != vh[:-1], True])


def _lognormal(rng: np.random.Generator, median: float | np.ndarray, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


def _fen(yuan: np.ndarray, step_yuan: int = 100) -> np.ndarray:
    """Yuan amounts rounded to a collector's step (100 yuan by default), as integer fen."""
    return (np.rint(np.maximum(yuan, 0) / step_yuan).astype(np.int64) * step_yuan * 100).astype(np.int64)


_RELATION_ORDER = ("head", "spouse", "parent", "child")
_V1_REASON = "入户采集 initial collection"
_V2_REASONS = (
    "年度复核 annual review",
    "收入情况更新 income update",
    "新增大棚 greenhouse added",
    "贷款结清 loan repaid",
    "新增贷款 new loan",
    "资产信息补充 assets completed",
)


class HouseholdGenerator:
    """Generates households chunk by chunk. Same (seed, counts, as_of, start offsets) → same data.

    ID numbers are unique across the whole run: each (area, birth date, sex) keeps a counter that maps
    to a distinct 3-digit sequence code. `taken` (optional) reports which numbers already exist in the
    database, for runs that add to an existing bank.
    """

    def __init__(
        self,
        villages: Sequence[VillagePlan],
        *,
        seed: int,
        as_of: dt.date,
        start_household: int = 0,
        start_member: int = 0,
        village_existing: Sequence[int] | np.ndarray | None = None,
        taken: Callable[[list[str]], set[str]] | None = None,
    ) -> None:
        self.villages = list(villages)
        self.seed = seed
        self.as_of = as_of
        self.start_household = start_household
        self.member_ordinal = start_member
        self.taken = taken
        self.counters = np.zeros(len(AREAS) * _NDAYS * 2, dtype=np.int32)
        self.vtype = np.array([VILLAGE_TYPES.index(v.village_type) for v in self.villages], dtype=np.int64)
        self.is_community = np.array([v.kind == "community" for v in self.villages])
        self.village_existing = np.asarray(
            village_existing if village_existing is not None else np.zeros(len(self.villages)), dtype=np.int64
        )
        # Shanghai has had no daylight saving since 1991: business midnight is UTC 16:00 the day before.
        midnight = dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.UTC) - dt.timedelta(hours=8)
        self.as_of_epoch = int(midnight.timestamp())

    def allocate(self, n: int) -> np.ndarray:
        """Village index of each of n new households: bigger villages get more, listed village by village."""
        rng = np.random.default_rng([self.seed, self.start_household, 0xA110C])
        w = np.array([v.weight for v in self.villages], dtype=float)
        counts = rng.multinomial(n, w / w.sum())
        return np.repeat(np.arange(len(self.villages)), counts)

    def chunks(self, n: int, chunk_size: int = CHUNK_HOUSEHOLDS) -> Iterator[HouseholdChunk]:
        villages = self.allocate(n)
        first_of_village = np.searchsorted(villages, np.arange(len(self.villages)))
        ordinal = np.arange(n) - first_of_village[villages] + self.village_existing[villages]
        for c, start in enumerate(range(0, n, chunk_size)):
            stop = min(n, start + chunk_size)
            rng = np.random.default_rng([self.seed, self.start_household, c])
            yield self._chunk(rng, villages[start:stop], ordinal[start:stop])

    # -------------------------------------------------------------------------------- one chunk

    def _chunk(self, rng: np.random.Generator, village: np.ndarray, ordinal: np.ndarray) -> HouseholdChunk:
        n = len(village)
        vt = self.vtype[village]

        # People: head's age (mostly 25-65, a tail of older heads), marriage, parents, children.
        old = rng.random(n) < 0.13
        head_age = np.where(old, rng.integers(66, 86, n), np.clip(np.rint(rng.normal(46, 10, n)), 24, 65))
        head_age = head_age.astype(np.int64)
        p_married = np.where(head_age < 30, 0.55, np.where(head_age <= 60, 0.78, 0.6))
        married = rng.random(n) < p_married
        head_male = rng.random(n) < np.where(married, 0.9, 0.62)
        spouse_age = np.clip(head_age + np.where(head_male, -1, 1) * np.rint(rng.normal(2, 2.5, n)), 20, 95)
        spouse_age = spouse_age.astype(np.int64)
        u = rng.random(n)
        n_parents = np.where(
            head_age < 45,
            (u < 0.30).astype(int) + (u < 0.15),
            np.where(head_age <= 60, (u < 0.17).astype(int) + (u < 0.05), 0),
        )
        u = rng.random(n)
        cum = np.where((head_age >= 28) & (head_age <= 55), 0, np.where(head_age > 55, 1, 2))
        child_cum = np.array([[0.10, 0.55, 0.93], [0.45, 0.80, 0.97], [0.50, 0.90, 1.0]])[cum]
        n_children = (u[:, None] > child_cum).sum(1)
        n_children = np.where(married, n_children, np.minimum(n_children, (rng.random(n) < 0.4) * 1))
        size = 1 + married + n_parents + n_children  # at most 1 + 1 + 2 + 3 = 7
        # Not every person is entered: children and co-resident parents are often missing from files.
        rec_children = rng.binomial(n_children, 0.75)
        rec_parents = rng.binomial(n_parents, 0.6)

        # Members, ordered head, spouse, parents, children within each household.
        hh = np.arange(n)
        m_hh = [hh, hh[married], np.repeat(hh, rec_parents), np.repeat(hh, rec_children)]
        m_rel = [np.full(len(a), r) for r, a in enumerate(m_hh)]
        par_i = _rank_within(m_hh[2])
        ch_i = _rank_within(m_hh[3])
        p_hh, c_hh = m_hh[2], m_hh[3]
        mother_age = np.where(head_male, spouse_age, head_age)
        mother_age = np.where(married | ~head_male, mother_age, head_age - 1)
        child_age = mother_age[c_hh] - rng.integers(22, 34, len(c_hh)) - ch_i * rng.integers(2, 8, len(c_hh))
        single_parent = rec_parents[p_hh] == 1
        parent_male = np.where(single_parent, rng.random(len(p_hh)) < 0.35, par_i == 0)
        m_age = np.concatenate(
            [
                head_age,
                spouse_age[married],
                np.minimum(head_age[p_hh] + rng.integers(24, 33, len(p_hh)), 95),
                np.maximum(child_age, 0),
            ]
        )
        m_male = np.concatenate([head_male, ~head_male[married], parent_male, rng.random(len(c_hh)) < 0.52])
        m_hh_all = np.concatenate(m_hh)
        m_rel_all = np.concatenate(m_rel)
        order = np.lexsort(
            (np.concatenate([np.zeros(n, int), np.zeros(married.sum(), int), par_i, ch_i]), m_rel_all, m_hh_all)
        )
        m_hh_all, m_rel_all, m_age, m_male = m_hh_all[order], m_rel_all[order], m_age[order], m_male[order]
        m = len(m_hh_all)

        # Birth dates: age in whole years on as_of, day of year at random (never in the future).
        as_of_ord = self.as_of.toordinal()
        birth = as_of_ord - np.rint(m_age * 365.2425).astype(np.int64) - rng.integers(0, 365, m)
        birth = np.minimum(birth, as_of_ord - 1)
        birth_year = _ymd(birth) // 10000

        # Names: wives keep their own surname; children and the head's father carry the family surname.
        sur = rng.choice(len(_SURNAME_CHARS), size=m, p=_SURNAME_P)
        head_pos = np.flatnonzero(m_rel_all == 0)
        head_sur = sur[head_pos]
        spouse_sur = np.full(n, -1)
        sp = m_rel_all == 1
        spouse_sur[m_hh_all[sp]] = sur[sp]
        family_sur = np.where(head_male | (spouse_sur < 0), head_sur, spouse_sur)
        carry = (m_rel_all == 3) | ((m_rel_all == 2) & m_male)
        sur = np.where(carry, family_sur[m_hh_all], sur)
        gen = np.where(birth_year < 1970, 0, np.where(birth_year < 1990, 1, 2))
        names = _given_names(rng, sur, m_male, gen)

        # Identity: ID number for every head and spouse, most others; phones for most adults.
        has_id = (m_rel_all <= 1) | (rng.random(m) < np.where(m_rel_all == 2, 0.95, 0.9))
        adult = m_age >= 18
        p_phone = np.select([m_rel_all == 0, m_rel_all == 1, m_rel_all == 2], [0.92, 0.85, 0.4], 0.8)
        has_phone = adult & (rng.random(m) < p_phone)
        ids = self._id_numbers(rng, birth, m_male, has_id)
        phones = self._phones(rng, has_phone)
        self.member_ordinal += m
        head_ok = has_phone[head_pos]

        # Segments and file values.
        prim, sec = _segments(rng, vt)
        segments = [_SEGMENT_PACK[a][b] for a, b in zip(prim.tolist(), sec.tolist(), strict=True)]
        values = _file_values(rng, prim, sec, vt, head_age, married)

        # Dates: version 1 for everyone; ~12% also have a version 2 (annual review etc.). ~15% are stale.
        two = rng.random(n) < 0.12
        stale = ~two & (rng.random(n) < 0.17)
        v1_days = np.where(
            two, rng.integers(370, 900, n), np.where(stale, rng.integers(370, 1000, n), rng.integers(1, 360, n))
        )
        v2_days = rng.integers(1, 300, n)
        tod = rng.integers(int(8.5 * 3600), int(17.5 * 3600), (2, n))
        v1_at = self.as_of_epoch - v1_days * 86400 + tod[0]
        v2_at = self.as_of_epoch - v2_days * 86400 + tod[1]
        v2_values, v2_reason = _second_version(rng, values, prim, sec, two)

        idx2 = np.flatnonzero(two)
        version_household = np.concatenate([hh, idx2])
        vorder = np.argsort(version_household, kind="stable")
        version_household = version_household[vorder]
        version_number = np.concatenate([np.ones(n, np.int64), np.full(len(idx2), 2)])[vorder]
        version_at = np.concatenate([v1_at, v2_at[idx2]])[vorder]
        reasons = np.concatenate([np.full(n, -1), v2_reason[idx2]])[vorder]
        arrays = {f: np.concatenate([values[f], v2_values[f][idx2]])[vorder] for f in rules.FILE_FIELDS}
        for group, total_field in rules.TOTAL_FIELDS.items():
            arrays[total_field] = np.asarray(np.sum([arrays[f] for f in rules.GROUPS[group]], axis=0, dtype=np.int64))
        version_values = {f: a.tolist() for f, a in arrays.items()}
        updated_at = np.where(two, v2_at, v1_at)

        heads_name = [names[i] for i in head_pos.tolist()]
        return HouseholdChunk(
            n=n,
            village=village,
            address=self._addresses(village, ordinal),
            size=size.tolist(),
            segments=segments,
            head_name=heads_name,
            three_elements_complete=[bool(x) for x in head_ok.tolist()],
            created_at=_datetimes(v1_at),
            file_updated_at=_datetimes(updated_at),
            member_household=m_hh_all,
            member_name=names,
            member_id_number=ids,
            member_phone=phones,
            member_relation=[_RELATION_ORDER[r] for r in m_rel_all.tolist()],
            member_birth_date=[dt.date.fromordinal(o) for o in birth.tolist()],
            member_is_male=m_male.tolist(),
            version_household=version_household,
            version_number=version_number.tolist(),
            version_created_at=_datetimes(version_at),
            version_reason=[_V1_REASON if r < 0 else _V2_REASONS[r] for r in reasons.tolist()],
            version_values=version_values,
        )

    def _id_numbers(
        self, rng: np.random.Generator, birth: np.ndarray, male: np.ndarray, has_id: np.ndarray
    ) -> list[str | None]:
        m = len(birth)
        old = birth < _MERGER
        u = rng.random(m)
        area = np.where(
            old,
            np.searchsorted(np.cumsum(_AREA_P_OLD), u * _AREA_P_OLD.sum(), side="right"),
            np.searchsorted(np.cumsum(_AREA_P_NEW), u * _AREA_P_NEW.sum(), side="right"),
        )
        area = np.minimum(area, len(AREAS) - 1)
        day = birth - _DAY0
        key = (area * _NDAYS + day) * 2 + male.astype(np.int64)
        sel = np.flatnonzero(has_id)
        k = self._claim(key[sel])
        bodies = self._bodies(area[sel], birth[sel], day[sel], male[sel], k)
        numbers = _id_strings(bodies)
        if self.taken is not None:
            # Adding to an existing bank: move any number already on file to the next free code.
            while True:
                clash = self.taken(numbers)
                if not clash:
                    break
                pos = np.array([i for i, s in enumerate(numbers) if s in clash])
                k[pos] = self._claim(key[sel][pos])
                new = _id_strings(self._bodies(area[sel][pos], birth[sel][pos], day[sel][pos], male[sel][pos], k[pos]))
                for i, s in zip(pos.tolist(), new, strict=True):
                    numbers[i] = s
        out: list[str | None] = [None] * m
        for i, s in zip(sel.tolist(), numbers, strict=True):
            out[i] = s
        return out

    def _claim(self, keys: np.ndarray) -> np.ndarray:
        """Next free slot per key (counters persist across chunks, so numbers never repeat in a run)."""
        order = np.argsort(keys, kind="stable")
        sk = keys[order]
        rank = _rank_within(sk)
        slots = np.empty(len(keys), dtype=np.int64)
        slots[order] = self.counters[sk] + rank
        np.add.at(self.counters, keys, 1)
        if len(slots) and slots.max() >= _SEQ_SLOTS:
            raise ValueError("too many people share one birth date and area; use fewer households")
        return slots

    @staticmethod
    def _bodies(area: np.ndarray, birth: np.ndarray, day: np.ndarray, male: np.ndarray, k: np.ndarray) -> np.ndarray:
        area_code = np.array([int(a) for a in AREAS], dtype=np.int64)[area]
        # A bijection of the slot onto 0..499 that varies by date, so codes do not all start at 000.
        s = (k * 37 + day * 7 + area * 13) % _SEQ_SLOTS
        seq = s * 2 + male.astype(np.int64)  # 17th digit: odd for men (GB 11643)
        return area_code * 10**11 + _ymd(birth) * 1000 + seq

    def _phones(self, rng: np.random.Generator, has_phone: np.ndarray) -> list[str | None]:
        m = len(has_phone)
        prefix = rng.integers(0, len(MOBILE_PREFIXES), m)
        ordinal = self.member_ordinal + np.arange(m, dtype=np.int64)
        suffix = (ordinal * _PHONE_MUL + self.seed * 7919) % 10**8
        return [
            f"{MOBILE_PREFIXES[p]}{s:08d}" if h else None
            for p, s, h in zip(prefix.tolist(), suffix.tolist(), has_phone.tolist(), strict=True)
        ]

    def _addresses(self, village: np.ndarray, ordinal: np.ndarray) -> list[str]:
        out = []
        for v, o in zip(village.tolist(), ordinal.tolist(), strict=True):
            plan = self.villages[v]
            if plan.kind == "community":
                out.append(
                    f"{plan.town}{plan.name}{o // 36 + 1}号楼{o % 36 // 12 + 1}单元{(o % 12) // 2 + 1}0{o % 2 + 1}室"
                )
            else:
                out.append(f"{plan.town}{plan.name}{o + o // 3 + 1}号")
        return out


def _rank_within(sorted_keys: np.ndarray) -> np.ndarray:
    """0, 1, 2 … within each run of equal values of a sorted array."""
    n = len(sorted_keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - first


def _id_strings(bodies: np.ndarray) -> list[str]:
    return [f"{b}{c}" for b, c in zip(bodies.tolist(), resident_check_digits(bodies), strict=True)]


def _datetimes(epochs: np.ndarray) -> list[dt.datetime]:
    base = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return [base + dt.timedelta(seconds=s) for s in epochs.tolist()]


_GIVEN_POOLS = {key: list(pool) for key, pool in GIVEN_NAMES.items()}


def _given_names(rng: np.random.Generator, sur: np.ndarray, male: np.ndarray, gen: np.ndarray) -> list[str]:
    pick = rng.random(len(sur))
    out = []
    for s, ml, g, p in zip(sur.tolist(), male.tolist(), gen.tolist(), pick.tolist(), strict=True):
        pool = _GIVEN_POOLS[(ml, g)]
        out.append(_SURNAME_CHARS[s] + pool[int(p * len(pool))])
    return out


def _pack(codes: list[str]) -> str:
    return "," + ",".join(sorted(set(codes))) + "," if codes else ","


# _SEGMENT_PACK[primary][secondary or 6 for none] -> packed segments string (see Household.pack_segments).
_SEGMENT_PACK = [[_pack([SEGMENTS[a], *([SEGMENTS[b]] if b < 6 else [])]) for b in range(7)] for a in range(6)]


def _segments(rng: np.random.Generator, vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cum = np.cumsum(SEGMENT_MIX, axis=1)
    n = len(vt)
    prim = np.minimum((rng.random(n)[:, None] > cum[vt]).sum(1), 5)
    sec = np.minimum((rng.random(n)[:, None] > cum[vt]).sum(1), 5)
    second = (rng.random(n) < SECOND_SEGMENT_RATE) & (sec != prim) & (sec != S_OTHER) & (prim != S_OTHER)
    return prim, np.where(second, sec, 6)


def _file_values(
    rng: np.random.Generator,
    prim: np.ndarray,
    sec: np.ndarray,
    vt: np.ndarray,
    head_age: np.ndarray,
    married: np.ndarray,
) -> dict[str, np.ndarray]:
    """Version-1 file values (integer fen) with distributions that follow segment and village economy."""
    n = len(prim)

    def has(s: int) -> np.ndarray:
        return (prim == s) | (sec == s)

    def weight(s: int, secondary: float) -> np.ndarray:
        return np.where(prim == s, 1.0, np.where(sec == s, secondary, 0.0))

    urban = vt == V_URBAN
    town = vt == V_TOWN
    rural = ~urban & ~town
    elderly = np.where(head_age >= 66, 0.55, 1.0)
    farmer = (prim == S_OTHER) & rural
    z = np.zeros(n)

    planting = (
        weight(S_GREENHOUSE, 0.6) * _lognormal(rng, 150_000, 0.45, n)
        + np.where(farmer & (rng.random(n) < np.where(vt == V_COASTAL, 0.4, 0.85)), _lognormal(rng, 25_000, 0.6, n), 0)
    ) * elderly
    breeding = (
        weight(S_BREEDER, 0.5) * _lognormal(rng, 180_000, 0.6, n)
        + np.where(farmer & (rng.random(n) < 0.1), _lognormal(rng, 8_000, 0.6, n), 0)
    ) * elderly
    business = (
        weight(S_BUSINESS, 0.5) * _lognormal(rng, 200_000, 0.7, n)
        + weight(S_SMB, 0.5) * _lognormal(rng, 400_000, 0.8, n)
    ) * elderly
    salaried = has(S_SALARIED)
    wages = np.where(
        salaried,
        _lognormal(rng, 75_000, 0.25, n)
        + np.where(married & (rng.random(n) < 0.6), _lognormal(rng, 55_000, 0.3, n), 0),
        0,
    )
    migrant = ~salaried & (rng.random(n) < np.where(rural, 0.45, 0.4))
    wages += np.where(migrant, _lognormal(rng, np.where(rural, 40_000, 60_000), 0.35, n), 0)
    wages *= np.where(head_age >= 66, 0.3, 1.0)
    transfer = np.where(
        head_age >= 60,
        np.where(urban | (salaried & town), _lognormal(rng, 45_000, 0.3, n), _lognormal(rng, 3_600, 0.3, n)),
        0,
    )
    transfer += np.where(rural & (rng.random(n) < 0.5), _lognormal(rng, 1_500, 0.5, n), 0)
    other_income = np.where(rng.random(n) < 0.15, _lognormal(rng, 5_000, 0.8, n), 0)
    income = planting + breeding + business + wages + transfer + other_income
    # Nobody on file lives on nothing: casual work (打零工) fills the gap for the poorest.
    odd_jobs = np.where(income < 8_000, _lognormal(rng, 14_000, 0.4, n), 0)
    other_income += odd_jobs
    income += odd_jobs

    # Expenses run at 40-80% of income; producers' share of it goes to production costs.
    ratio = 0.4 + 0.4 * rng.beta(2.2, 2.2, n)
    expenses = ratio * income
    productive = np.divide(planting + breeding + business, income, out=z.copy(), where=income > 0)
    production = expenses * productive * 0.75
    other_expense = expenses * rng.uniform(0.03, 0.1, n)
    living = expenses - production - other_expense

    house = np.where(
        urban,
        np.clip(_lognormal(rng, 850_000, 0.35, n), 350_000, 2_500_000),
        np.where(
            town,
            np.clip(_lognormal(rng, 420_000, 0.4, n), 200_000, 1_500_000),
            np.clip(_lognormal(rng, 250_000, 0.45, n), 150_000, 900_000),
        ),
    )
    house = np.where(urban & (rng.random(n) < 0.08), 0, house)  # renters
    land = np.where(
        rural & ((planting > 0) | has(S_GREENHOUSE)),
        np.clip(_lognormal(rng, np.where(has(S_GREENHOUSE), 120_000, 50_000), 0.55, n), 10_000, 400_000),
        0,
    )
    greenhouse = np.where(
        prim == S_GREENHOUSE,
        np.clip(_lognormal(rng, 260_000, 0.45, n), 100_000, 600_000),
        np.where(sec == S_GREENHOUSE, np.clip(_lognormal(rng, 150_000, 0.45, n), 60_000, 400_000), 0),
    )
    livestock = np.where(
        has(S_BREEDER),
        np.clip(_lognormal(rng, 300_000, 0.7, n) * weight(S_BREEDER, 0.5), 50_000, 3_000_000),
        np.where(breeding > 0, _lognormal(rng, 15_000, 0.6, n), 0),
    )
    p_vehicle = np.where(urban, 0.7, np.where(town, 0.65, 0.55)) + 0.15 * (has(S_BUSINESS) | has(S_SMB))
    vehicle = np.where(
        rng.random(n) < p_vehicle,
        _lognormal(
            rng, np.where(urban, 130_000, np.where(town, 80_000, 40_000)) * np.where(has(S_SMB), 1.8, 1.0), 0.6, n
        ),
        0,
    )
    deposit = np.where(rng.random(n) < 0.95, np.clip(_lognormal(rng, 0.35 * income + 5_000, 1.0, n), 0, 5_000_000), 0)
    equipment = (
        np.where(has(S_BUSINESS), _lognormal(rng, 80_000, 0.8, n), 0)
        + np.where(has(S_SMB), _lognormal(rng, 500_000, 0.9, n), 0)
        + np.where(has(S_GREENHOUSE), _lognormal(rng, 30_000, 0.6, n), 0)
        + np.where(has(S_BREEDER), _lognormal(rng, 50_000, 0.6, n), 0)
    )
    other_assets = np.where(rng.random(n) < 0.15, _lognormal(rng, 40_000, 0.8, n), 0)
    assets = house + land + greenhouse + livestock + vehicle + deposit + equipment + other_assets

    # About a third owe a bank: producers borrow for inputs, urban salaried for mortgages.
    p_bank = np.select([prim == S_OTHER, prim == S_SALARIED], [0.18, np.where(urban, 0.40, 0.30)], 0.46)
    has_bank = rng.random(n) < p_bank
    bank_median = np.array([150_000, 200_000, 200_000, 600_000, 300_000, 60_000])[prim]
    bank = np.where(has_bank, np.minimum(_lognormal(rng, bank_median, 0.7, n), 0.7 * assets), 0)
    has_private = rng.random(n) < np.where(prim == S_SALARIED, 0.05, 0.09)
    private = np.where(has_private, _lognormal(rng, 50_000, 0.7, n), 0)
    other_liab = np.where(rng.random(n) < 0.05, _lognormal(rng, 20_000, 0.8, n), 0)

    overdue = np.where(rng.random(n) < np.where(has_private, 0.4, 0.17), rng.geometric(0.45, n), 0)
    overdue = np.minimum(overdue, 20)
    inquiries = np.minimum(rng.poisson(0.5 + 1.2 * has_bank + 0.8 * has_private), 30)
    lines = np.where(has_bank, 1 + rng.binomial(2, 0.3, n), (rng.random(n) < 0.15).astype(int))
    limit = np.where(has_bank, bank * rng.uniform(1.0, 1.5, n), lines * _lognormal(rng, 30_000, 0.5, n))
    current_overdue = np.where(
        (overdue > 0) & (rng.random(n) < 0.04),
        np.minimum(np.clip(_lognormal(rng, 8_000, 1.0, n), 500, None), np.maximum(bank, 500)),
        0,
    )

    return {
        "asset_house_fen": _fen(house, 1000),
        "asset_land_fen": _fen(land, 1000),
        "asset_greenhouse_fen": _fen(greenhouse, 1000),
        "asset_livestock_fen": _fen(livestock, 1000),
        "asset_vehicle_fen": _fen(vehicle, 1000),
        "asset_deposit_fen": _fen(deposit, 100),
        "asset_equipment_fen": _fen(equipment, 1000),
        "asset_other_fen": _fen(other_assets, 1000),
        "liab_bank_fen": _fen(bank, 1000),
        "liab_private_fen": _fen(private, 1000),
        "liab_other_fen": _fen(other_liab, 1000),
        "income_planting_fen": _fen(planting),
        "income_breeding_fen": _fen(breeding),
        "income_business_fen": _fen(business),
        "income_wages_fen": _fen(wages),
        "income_transfer_fen": _fen(transfer, 10),
        "income_other_fen": _fen(other_income),
        "expense_living_fen": _fen(living),
        "expense_production_fen": _fen(production),
        "expense_other_fen": _fen(other_expense),
        "credit_current_overdue_fen": _fen(current_overdue, 1),
        "credit_existing_limit_fen": _fen(limit, 10_000),
        "credit_overdue_count_24m": overdue.astype(np.int64),
        "credit_inquiries_6m": inquiries.astype(np.int64),
        "credit_existing_lines": lines.astype(np.int64),
    }


def _second_version(
    rng: np.random.Generator, values: dict[str, np.ndarray], prim: np.ndarray, sec: np.ndarray, two: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Version-2 values: a year's drift plus one named change; the reason index says which."""
    n = len(prim)
    out = {k: v.copy() for k, v in values.items()}
    growth = np.exp(rng.normal(0.05, 0.12, n))
    for f in rules.INCOME_FIELDS + rules.EXPENSE_FIELDS:
        out[f] = _round_like(values[f] * growth)
    out["asset_deposit_fen"] = _round_like(values["asset_deposit_fen"] * np.exp(rng.normal(0.08, 0.35, n)), 10_000)
    greenhouse = (prim == S_GREENHOUSE) | (sec == S_GREENHOUSE)
    has_bank = values["liab_bank_fen"] > 0
    u = rng.random(n)
    reason = np.where(u < 0.45, 0, 1)
    reason = np.where(greenhouse & (u > 0.7), 2, reason)
    reason = np.where(has_bank & (u > 0.85), 3, reason)
    reason = np.where(~has_bank & (u > 0.9), 4, reason)
    reason = np.where((u > 0.6) & (u <= 0.7), 5, reason)
    added = reason == 2
    out["asset_greenhouse_fen"] = np.where(
        added,
        _round_like(values["asset_greenhouse_fen"] * rng.uniform(1.2, 1.6, n), 100_000),
        out["asset_greenhouse_fen"],
    )
    repaid = reason == 3
    out["liab_bank_fen"] = np.where(repaid, 0, out["liab_bank_fen"])
    out["credit_existing_lines"] = np.where(
        repaid, np.maximum(values["credit_existing_lines"] - 1, 0), out["credit_existing_lines"]
    )
    new_loan = reason == 4
    out["liab_bank_fen"] = np.where(
        new_loan, _round_like(_lognormal(rng, 100_000, 0.6, n) * 100, 100_000), out["liab_bank_fen"]
    )
    out["credit_existing_lines"] = np.where(new_loan, values["credit_existing_lines"] + 1, out["credit_existing_lines"])
    limit = values["credit_existing_limit_fen"]
    out["credit_existing_limit_fen"] = np.where(new_loan, out["liab_bank_fen"] + limit, limit)
    completed = reason == 5
    out["asset_other_fen"] = np.where(
        completed,
        values["asset_other_fen"] + _round_like(_lognormal(rng, 30_000, 0.7, n) * 100, 100_000),
        out["asset_other_fen"],
    )
    out["credit_inquiries_6m"] = np.minimum(rng.poisson(0.4 + 1.5 * new_loan), 30).astype(np.int64)
    return out, np.where(two, reason, -1)


def _round_like(fen: np.ndarray, step_fen: int = 10_000) -> np.ndarray:
    return (np.rint(np.maximum(fen, 0) / step_fen).astype(np.int64) * step_fen).astype(np.int64)
