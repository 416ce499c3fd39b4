"""English translations of the UI (msgids are the Chinese originals).

Edit here, then rebuild the catalog: extract the marked strings (the command is at the top of
``babel.cfg``), then ``python -m service_hall.translations.en`` writes
``en/LC_MESSAGES/messages.po`` and the compiled ``messages.mo`` (both committed).
``tests/test_translations.py`` fails when a string marked in the code has no entry here.
"""
EN = {
    "%(n)d 项": "%(n)d items",
    "%(n)s号窗口": "Window %(n)s",
    "乡镇便民服务大厅": "Township service halls",
    "人": "people",
    "便民服务大厅": "Service Hall",
    "关窗": "Close window",
    "分钟": "min",
    "前面等候": "Ahead of you",
    "办理事项": "Service",
    "办结": "Finish",
    "原因": "Reason",
    "取号失败：": "Could not take a ticket: ",
    "取号时间": "Issued at",
    "叫号": "Call next",
    "叫号、重呼、过号、办理、转办、暂停": "Call, recall, no-show, serve, transfer, pause",
    "叫号三次未到窗口办理，本单作废": "Not at the window after three calls: this ticket becomes void",
    "叫号显示": "Calling board",
    "叫号显示屏": "Display board",
    "号码": "Number",
    "号窗口办理": "— please go to this window",
    "大厅屏幕": "Hall screens",
    "如：外出取材料、会议": "e.g. fetching documents, meeting",
    "完成": "Done",
    "实时连接中断，正在重连…": "Live connection lost, reconnecting…",
    "尚未建立大厅：请先运行 flask --app wsgi hall seed-demo":
        "No hall yet: run flask --app wsgi hall seed-demo first",
    "工作人员": "Staff",
    "工作人员登录": "Staff sign-in",
    "已选绿色通道：请选择要办理的事项": "Green channel selected: now choose the service",
    "开始办理": "Start serving",
    "开窗 / 恢复": "Open / resume",
    "当前号": "Current ticket",
    "当前没有等候的号": "Nobody is waiting",
    "您的号码": "Your number",
    "我的排队": "My ticket",
    "或转到窗口": "or to window",
    "打印": "Print",
    "打印号票": "Print ticket",
    "扫码查看排队进度": "Scan to follow your place in the queue",
    "扫码查看排队进度、评价服务": "Scan to follow the queue and rate the service",
    "排队凭条": "Queue ticket",
    "接口文档": "API documentation",
    "搜索事项": "Search services",
    "输入事项或部门名称，如：证明、社保、不动产": "Search services or departments",
    "操作失败：": "Failed: ",
    "政务服务中心排队叫号与办件管理系统": "Queue, window and case management for the service centre",
    "暂停": "Pause",
    "最近叫号": "Latest calls",
    "最近叫号、等候人数、语音播报": "Latest calls, people waiting, voice announcements",
    "未能打印号票，请记住号码或用手机扫码": "The ticket could not be printed: note the number or scan the code",
    "本大厅暂无可取号的事项": "No services can be queued for at this hall",
    "本大厅没有窗口": "This hall has no windows",
    "本机未登记为取号机，请联系管理员。": "This machine is not registered as a kiosk: please call the staff.",
    "本窗口事项": "Services at this window",
    "本窗口等候": "Waiting for this window",
    "本页会自动更新，请保持打开。": "This page updates by itself: keep it open.",
    "欢迎光临，请留意叫号": "Welcome: please watch for your number",
    "正在取号，请稍候…": "Taking your ticket…",
    "没有找到相关事项，请换个词或到咨询台询问": "No matching service: try another word or ask at the information desk",
    "点击开启语音播报": "Tap to turn on voice announcements",
    "用手机扫码，随时查看排队进度，叫到号时提醒您；办完后可扫码评价。":
        "Scan with your phone to follow the queue and be told when you are called; rate the service afterwards.",
    "离岗": "Away",
    "窗口": "Window",
    "窗口人员、督查、管理员": "Clerks, supervisors, administrators",
    "窗口工作台": "Window console",
    "督查工作台": "Supervision dashboard",
    "实时排队、按时办结率、预警、三函": "Live queues, on-time rate, warnings, monthly letters",
    "窗口状态": "Window state",
    "等": " etc.",
    "等候人数": "People waiting",
    "约": "about",
    "综合窗口": "Comprehensive window",
    "绿色通道": "Green channel",
    "网络中断，正在重试…请勿离开": "Network interrupted, retrying… please wait",
    "网络中断，请稍后重试": "Network interrupted, please try again",
    "老年人、残疾人、军人、孕妇等优先": "Priority for the elderly, disabled, military, pregnant",
    "自助取号": "Take a ticket",
    "自助取号机": "Ticket kiosk",
    "触摸屏取号、打印号票": "Touch screen, printed tickets",
    "设备首次打开时在地址后加 ?device=设备令牌，之后自动记住。扫描号票上的二维码可查看排队进度。":
        "On a device's first visit add ?device=DEVICE-TOKEN to the address; it is remembered. "
        "The QR code on a ticket opens its tracking page.",
    "请到": "Please go to window",
    "请取走打印的号票": "Please take your printed ticket",
    "请填写原因": "Please give a reason",
    "转到事项": "Transfer to service",
    "转办": "Transfer",
    "过号": "No-show",
    "返回部门": "Back to departments",
    "选择事项": "Choose a service",
    "选择您所在的窗口": "Choose your window",
    "选择窗口": "Choose window",
    "重呼": "Recall",
    "预计等候": "Estimated wait",
    "等候中": "Waiting",
    "已叫号": "Called",
    "正在办理": "Being served",
    "已办结": "Done",
    "已过号": "Missed (no-show)",
    "已转办": "Transferred",
    "已取消": "Cancelled",
    "未开窗": "Closed",
    "空闲": "Open, idle",
    "办理中": "Serving",
    "预约": "Appointments",
    "事项目录": "Item catalog",
    "管理员维护部门、事项、窗口": "Administrators keep departments, items, windows",
    "zip 压缩包，每个片段一个音频文件，文件名为片段编号，例如 qing.wav、d1.wav、A.wav（WAV、OGG、WebM、MP3）。": "A zip file with one audio file per segment, named by the segment key, e.g. qing.wav, d1.wav, A.wav (WAV, OGG, WebM, MP3).",
    "上传导入": "Upload and import",
    "下载本厅语音包": "Download this hall's voice pack",
    "为每个大厅录制叫号用的语音片段。语音包完整时，叫号屏用它播报；否则用设备的普通话语音，再否则用系统自带的默认语音包。": "Record the segments that call announcements are made of, per hall. A display board uses a complete pack; otherwise the device's Mandarin voice; otherwise the default pack shipped with the system.",
    "全部大厅": "All halls",
    "删除": "Delete",
    "叫号语音包": "Call voice pack",
    "大厅": "Hall",
    "字母": "Letters",
    "完整": "complete",
    "已录制": "Recorded",
    "录制与管理": "Record and manage",
    "录音": "Record",
    "操作": "Actions",
    "数字": "Numerals",
    "整包导入与导出": "Import and export the whole pack",
    "点“录音”朗读片段文字，再点“停止”；录音两端的静音会自动剪掉。": "Press “Record”, read the segment's text, then press “Stop”; silence at both ends is trimmed automatically.",
    "片段": "Segment",
    "状态": "State",
    "管理": "Administration",
    "编号": "Key",
    "词语": "Words",
    "试听": "Play",
    "语音包": "Voice pack",
    "语音包 zip": "Voice pack zip",
    "语音包在县级中心录制，本节点只播放同步下来的录音。": "Voice packs are recorded at the county centre; this node only plays the synced recordings.",
    "语音包完整，叫号屏将使用本厅录音播报。": "The pack is complete: display boards announce with this hall's recordings.",
    "语音包尚不完整：叫号屏先用设备的普通话语音，没有时用默认语音包（espeak-ng 合成，仅作后备）。": "The pack is incomplete: boards use the device's Mandarin voice, or else the default pack (synthesised by espeak-ng, a fallback only).",
    "语音片段": "Voice segments",
    "默认语音（后备）": "Default voice (fallback)",
    "录制、试听、导入导出各大厅的叫号语音": "Record, play, import and export each hall's call voices",
}


def build() -> None:
    from pathlib import Path

    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po

    here = Path(__file__).resolve().parent
    with open(here / "messages.pot", "rb") as pot:
        template = read_po(pot)
    catalog = Catalog(locale="en", project="Service Hall")
    for message in template:
        if message.id:
            catalog.add(message.id, EN.get(message.id, ""))
    folder = here / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "messages.po", "wb") as po:
        write_po(po, catalog, omit_header=False, sort_output=True, no_location=True)
    with open(folder / "messages.mo", "wb") as mo:
        write_mo(mo, catalog)
    missing = [m.id for m in template if m.id and m.id not in EN]
    print(f"{len(catalog)} messages, {len(missing)} untranslated: {missing}")


if __name__ == "__main__":
    build()
