<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../app/main_window.py" line="17"/>
        <source>Anxin Charging — Metrology Supervision Workstation</source>
        <translation>安心充电 — 计量监管工作站</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="18"/>
        <source>No ledger synced yet.</source>
        <translation>尚未同步账本。</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="19"/>
        <source>Not synced</source>
        <translation>未同步</translation>
    </message>
</context>
</TS>
