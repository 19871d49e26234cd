"""Labels of maps, legends, popups and reports in English and Simplified Chinese."""

from __future__ import annotations

from .errors import MapsError

__all__ = ["LANGUAGES", "labels"]

LANGUAGES: tuple[str, ...] = ("en", "zh")

_EN: dict[str, str] = {
    "title": "Patrol plan",
    "grids": "Grids by risk",
    "borders": "Boundaries",
    "incidents": "Incidents",
    "clusters": "Incidents (clusters)",
    "heat": "Incidents (heat map)",
    "warnings": "Hotspot warnings",
    "routes": "Routes",
    "depots": "Depots",
    "streets": "Streets",
    "legend": "Risk",
    "no_risk": "no incidents",
    "name": "Name",
    "level": "Level",
    "count": "Incidents",
    "risk": "Risk",
    "top": "Top categories",
    "hours": "Risky hours",
    "why": "Why",
    "response": "Response time",
    "handling": "Handling time",
    "closure": "Closure rate",
    "overdue": "Overdue",
    "satisfaction": "Satisfied",
    "unit": "Unit",
    "kind": "Kind",
    "stop": "Stop",
    "grid": "Grid",
    "arrival": "Arrival",
    "departure": "Departure",
    "dwell": "Dwell",
    "minutes": "min",
    "depot": "Depot",
    "warning": "Hotspot warning",
    "all": "all",
    "hour": "Hour",
    "day": "Day",
    "weekdays": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
    "district": "District",
    "street": "Street",
    "community": "Community",
    "report": "Patrol plan report",
    "timeline": "Timeline per unit",
    "travel": "Travel",
    "break": "Break",
    "idle": "Waiting",
    "risk_covered": "Risk covered over the shift",
    "readiness": "Response readiness (share of grids reachable)",
    "within_3": "within 3 min",
    "within_5": "within 5 min",
    "summary": "Summary",
    "units": "Units",
    "visits": "Visits",
    "unassigned": "Unassigned",
    "distance": "Distance",
    "duration": "Duration",
    "shift": "Shift",
    "no_readiness": "The plan carries no readiness figures.",
    "reason": "Reason",
    "equal_shares": "(the plan gives no risk per visit: equal shares shown)",
    "idle_units": "Units not patrolling",
    "plan_warnings": "Warnings",
    "checkpoints": "Checkpoints",
    "checkpoint": "Checkpoint",
    "work_report": "Open work",
    "work_as_of": "As of",
    "work_open": "Open incidents",
    "work_overdue": "Overdue",
    "work_escalated": "Escalated",
    "work_none": "No open incident.",
    "work_incident": "Incident",
    "work_category": "Category",
    "work_severity": "Severity",
    "work_state": "State",
    "work_dispatched": "Dispatched",
    "work_due": "Stage due",
    "work_status": "Status",
    "work_on_time": "on time",
    "work_no_limit": "no limit",
    "idle_share": "Idle share",
}

_ZH: dict[str, str] = {
    "title": "巡逻方案",
    "grids": "网格风险",
    "borders": "边界",
    "incidents": "警情",
    "clusters": "警情(聚合)",
    "heat": "警情(热力图)",
    "warnings": "热点预警",
    "routes": "巡逻路线",
    "depots": "出发点",
    "streets": "道路",
    "legend": "风险",
    "no_risk": "无警情",
    "name": "名称",
    "level": "层级",
    "count": "警情数",
    "risk": "风险",
    "top": "主要类别",
    "hours": "高发时段",
    "why": "原因",
    "response": "响应时长",
    "handling": "处置时长",
    "closure": "结案率",
    "overdue": "超期",
    "satisfaction": "满意率",
    "unit": "巡逻单元",
    "kind": "类型",
    "stop": "站点",
    "grid": "网格",
    "arrival": "到达",
    "departure": "离开",
    "dwell": "停留",
    "minutes": "分钟",
    "depot": "出发点",
    "warning": "热点预警",
    "all": "全部",
    "hour": "小时",
    "day": "日期",
    "weekdays": "周一,周二,周三,周四,周五,周六,周日",
    "district": "区",
    "street": "街道",
    "community": "社区",
    "report": "巡逻方案报告",
    "timeline": "各单元时间线",
    "travel": "行进",
    "break": "休息",
    "idle": "等待",
    "risk_covered": "班次内覆盖的风险",
    "readiness": "响应就绪度(可达网格比例)",
    "within_3": "3分钟内",
    "within_5": "5分钟内",
    "summary": "概要",
    "units": "单元数",
    "visits": "巡访数",
    "unassigned": "未分配",
    "distance": "距离",
    "duration": "时长",
    "shift": "班次",
    "no_readiness": "方案未包含响应就绪数据。",
    "reason": "原因",
    "equal_shares": "(方案未给出每次巡访的风险:按平均分配显示)",
    "idle_units": "未巡逻的单元",
    "plan_warnings": "提醒",
    "checkpoints": "重点部位",
    "checkpoint": "重点部位",
    "idle_share": "空闲占比",
    "work_report": "待办工作",
    "work_as_of": "截至",
    "work_open": "未办结事件",
    "work_overdue": "超期",
    "work_escalated": "已升级",
    "work_none": "没有未办结事件。",
    "work_incident": "事件",
    "work_category": "类别",
    "work_severity": "严重程度",
    "work_state": "状态",
    "work_dispatched": "派发时间",
    "work_due": "本环节时限",
    "work_status": "时效",
    "work_on_time": "未超期",
    "work_no_limit": "无时限",
}

_TABLES = {"en": _EN, "zh": _ZH}


def labels(lang: str) -> dict[str, str]:
    """All labels in one language.

    Parameters
    ----------
    lang
        ``"en"`` or ``"zh"`` (Simplified Chinese).

    Returns
    -------
    dict[str, str]
        A fresh copy, label key -> text.

    Examples
    --------
    >>> labels("zh")["routes"]
    '巡逻路线'
    """
    try:
        return dict(_TABLES[lang])
    except KeyError:
        msg = f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)} (--lang)"
        raise MapsError(msg) from None
