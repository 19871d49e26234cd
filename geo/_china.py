"""A coarse outline of mainland China, the area where GCJ-02 / BD-09 offsets apply.

The outline is written here by hand as coordinates (EPSG:4326, ``[lon, lat]``), traced from
public maps of China's land borders and coast. It is deliberately coarse: about 160 vertices, up
to roughly 30 km off along land borders in mountains and deserts and pushed 10 to 60 km out to sea
so that coastal islands (Zhoushan, Wanshan, Hainan...) fall inside. That is good enough because
the question it answers, "is this point subject to the GCJ-02 shift?", only needs care where
non-mainland land lies close to mainland land:

- **Hong Kong** and **Macau** are cut out with finer polygons (Shenzhen River and Deep Bay border
  traced to about 300 m; Macau peninsula, Taipa, Cotai and Coloane to about 200 m; Hengqin island,
  which is mainland, stays inside).
- **Taiwan** and Penghu lie outside the outline (the line runs down the middle of the strait).
  Kinmen and Matsu, a few km off Fujian, are inside it: the outline cannot separate them at this
  resolution.

A point within a few hundred metres of the Hong Kong or Macau border, or within tens of km of a
land border, may be classified wrongly. No real data is that close to the line in our samples.
"""

from __future__ import annotations

import shapely
from shapely.geometry import Polygon

__all__ = ["HONG_KONG", "MACAU", "MAINLAND_CHINA"]

# Clockwise from the northern tip (Mohe), along the Amur and Ussuri, the Korean border, the coast
# (offshore), the Beibu Gulf, the Vietnamese, Lao, Myanmar, Indian, Nepali, Pakistani, Central
# Asian, Mongolian and Russian borders.
_OUTLINE: tuple[tuple[float, float], ...] = (
    (122.35, 53.56),
    (123.6, 53.55),
    (125.6, 53.1),
    (126.6, 52.0),
    (127.6, 50.2),
    (129.5, 49.4),
    (130.7, 48.9),
    (132.5, 47.75),
    (134.75, 48.4),
    (134.1, 47.2),
    (133.1, 45.1),
    (132.0, 45.3),
    (131.0, 44.9),
    (131.3, 43.4),
    (130.7, 42.4),
    (129.7, 42.4),
    (128.9, 42.0),
    (128.1, 41.45),
    (126.9, 41.75),
    (125.3, 40.6),
    (124.35, 39.85),
    (123.3, 39.4),
    (122.6, 38.75),
    (121.0, 38.5),
    (121.0, 38.05),
    (122.95, 37.45),
    (122.7, 36.6),
    (121.3, 35.8),
    (120.3, 34.9),
    (121.3, 34.0),
    (122.3, 32.6),
    (122.3, 31.6),
    (123.0, 30.8),
    (122.9, 29.6),
    (122.4, 28.6),
    (121.4, 27.4),
    (120.5, 26.6),
    (120.2, 25.8),
    (119.75, 25.1),
    (118.9, 24.3),
    (118.0, 23.5),
    (117.2, 23.0),
    (116.2, 22.5),
    (115.3, 22.4),
    (114.7, 22.2),
    (114.6, 21.8),
    (113.5, 21.6),
    (112.3, 21.3),
    (111.3, 20.95),
    (111.2, 19.9),
    (110.6, 18.5),
    (109.6, 17.9),
    (108.7, 18.2),
    (108.4, 19.2),
    (108.9, 20.3),
    (108.9, 20.9),
    (108.1, 21.45),
    (107.4, 21.6),
    (106.8, 21.95),
    (106.7, 22.4),
    (106.6, 22.9),
    (105.9, 22.95),
    (105.35, 23.35),
    (104.8, 22.85),
    (104.0, 22.5),
    (103.1, 22.45),
    (102.2, 22.4),
    (101.75, 22.45),
    (101.75, 21.15),
    (101.15, 21.4),
    (100.2, 21.4),
    (99.2, 22.1),
    (99.5, 22.95),
    (98.85, 23.2),
    (98.7, 24.1),
    (97.7, 23.9),
    (97.55, 24.75),
    (98.25, 25.6),
    (98.7, 26.2),
    (98.7, 27.55),
    (98.2, 28.3),
    (97.4, 28.2),
    (96.4, 29.1),
    (96.1, 28.4),
    (95.2, 29.0),
    (94.0, 27.7),
    (92.5, 27.8),
    (91.6, 27.95),
    (90.4, 28.2),
    (89.5, 28.1),
    (88.85, 27.35),
    (88.6, 28.05),
    (88.1, 27.9),
    (86.9, 28.0),
    (85.9, 28.2),
    (85.1, 28.5),
    (84.1, 28.6),
    (83.3, 29.5),
    (82.1, 30.05),
    (81.2, 30.05),
    (80.2, 30.75),
    (79.0, 31.35),
    (78.75, 32.5),
    (78.4, 32.6),
    (78.1, 33.9),
    (78.7, 34.6),
    (77.8, 35.5),
    (76.1, 35.9),
    (75.2, 36.7),
    (74.6, 37.05),
    (75.0, 37.4),
    (74.85, 38.45),
    (73.8, 38.6),
    (73.6, 39.45),
    (74.0, 40.1),
    (75.6, 40.65),
    (76.6, 40.6),
    (77.7, 41.0),
    (78.6, 41.5),
    (80.2, 42.1),
    (80.2, 42.85),
    (80.75, 43.2),
    (80.4, 44.9),
    (81.9, 45.3),
    (82.5, 45.6),
    (83.0, 47.2),
    (85.5, 47.05),
    (85.7, 48.4),
    (87.0, 49.1),
    (87.8, 49.2),
    (88.1, 48.6),
    (90.0, 47.9),
    (91.0, 46.6),
    (90.9, 45.3),
    (93.5, 44.95),
    (95.4, 44.3),
    (96.4, 42.75),
    (100.0, 42.65),
    (104.0, 41.85),
    (105.0, 41.6),
    (107.5, 42.45),
    (110.4, 42.75),
    (111.9, 43.7),
    (111.5, 44.4),
    (113.7, 44.8),
    (116.7, 46.4),
    (118.5, 46.7),
    (119.9, 46.7),
    (119.8, 47.5),
    (118.5, 47.95),
    (117.4, 47.65),
    (115.6, 47.9),
    (116.2, 49.1),
    (117.9, 49.55),
    (119.2, 50.1),
    (119.4, 50.4),
    (120.8, 52.0),
    (120.1, 52.8),
    (121.5, 53.35),
)

# Hong Kong SAR, land and waters: Shenzhen River and the middle of Deep Bay in the north, the
# Mirs Bay line in the east, the SAR's sea boundary in the south and west.
_HONG_KONG: tuple[tuple[float, float], ...] = (
    (113.825, 22.40),
    (113.89, 22.44),
    (113.96, 22.485),
    (114.02, 22.508),
    (114.06, 22.512),
    (114.09, 22.518),
    (114.115, 22.528),
    (114.15, 22.538),
    (114.19, 22.545),
    (114.225, 22.548),
    (114.26, 22.565),
    (114.33, 22.56),
    (114.42, 22.50),
    (114.51, 22.43),
    (114.50, 22.14),
    (113.90, 22.13),
    (113.825, 22.20),
)

# Macau SAR: the peninsula (north border at the Barrier Gate / Gongbei), Taipa, Cotai and
# Coloane; the Hengqin channel to the west stays mainland.
_MACAU: tuple[tuple[float, float], ...] = (
    (113.528, 22.190),
    (113.535, 22.205),
    (113.545, 22.2165),
    (113.556, 22.2150),
    (113.566, 22.2000),
    (113.562, 22.1850),
    (113.580, 22.168),
    (113.604, 22.158),
    (113.598, 22.130),
    (113.578, 22.108),
    (113.556, 22.112),
    (113.549, 22.130),
    (113.548, 22.150),
    (113.542, 22.168),
    (113.536, 22.182),
)

HONG_KONG: Polygon = Polygon(_HONG_KONG)
MACAU: Polygon = Polygon(_MACAU)
#: Mainland China (outline minus Hong Kong and Macau), prepared for fast point tests.
MAINLAND_CHINA = Polygon(_OUTLINE).difference(HONG_KONG).difference(MACAU)
shapely.prepare(MAINLAND_CHINA)
