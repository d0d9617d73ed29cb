<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>AlarmQueue</name>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="55"/>
        <source>new</source>
        <translation>新建</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="56"/>
        <source>acknowledged</source>
        <translation>已确认</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="57"/>
        <source>dispatched</source>
        <translation>已派单</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="58"/>
        <source>resolved</source>
        <translation>已处置</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="59"/>
        <source>dismissed</source>
        <translation>已排除</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="65"/>
        <source>critical</source>
        <translation>紧急</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="66"/>
        <source>high</source>
        <translation>高</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="67"/>
        <source>warning</source>
        <translation>警告</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="68"/>
        <source>info</source>
        <translation>提示</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="107"/>
        <source>Severity</source>
        <translation>级别</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="108"/>
        <source>Alarm</source>
        <translation>告警</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="111"/>
        <source>Assigned to</source>
        <translation>处理人</translation>
    </message>
    <message>
        <source>Opened (UTC)</source>
        <translation type="vanished">发生时间 (UTC)</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="269"/>
        <source>Note for the audit log</source>
        <translation>审计日志备注</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="273"/>
        <source>Acknowledge</source>
        <translation>确认</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="274"/>
        <source>Dispatch to inspector…</source>
        <translation>派给检定员…</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="275"/>
        <source>Resolve</source>
        <translation>处置完毕</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="276"/>
        <source>Dismiss as false alarm</source>
        <translation>判为误报</translation>
    </message>
    <message>
        <source>Open pile</source>
        <translation type="vanished">查看充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="320"/>
        <source>%1 open alarms, %2 critical</source>
        <translation>%1 条未处理告警，其中紧急 %2 条</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="352"/>
        <source>Dispatch</source>
        <translation>派单</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="367"/>
        <source>Alarm not changed</source>
        <translation>告警未更改</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="391"/>
        <source>Critical alarm</source>
        <translation>紧急告警</translation>
    </message>
    <message>
        <source>Pile</source>
        <translation type="vanished">充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="110"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="352"/>
        <source>Inspector ID</source>
        <translation>检定员编号</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="112"/>
        <source>Opened (UTC+8)</source>
        <translation>发生时间（北京时间）</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="78"/>
        <source>Charging pile</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="79"/>
        <source>Fuel dispenser</source>
        <translation>加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="109"/>
        <source>Instrument</source>
        <translation>计量器具</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="286"/>
        <source>Open instrument</source>
        <translation>查看器具</translation>
    </message>
    <message>
        <location filename="../../app/views/alarm_queue.py" line="80"/>
        <source>Taxi meter</source>
        <translation>出租车计价器</translation>
    </message>
</context>
<context>
    <name>CountersignDialog</name>
    <message>
        <location filename="../../app/views/countersign.py" line="149"/>
        <source>Verification</source>
        <translation>检定记录</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="150"/>
        <source>Pile</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="58"/>
        <source>Awaiting check</source>
        <extracomment>``pull(store) -&gt; count``: takes up newly synced results (see :func:`log_pull`).</extracomment>
        <translation>待核验</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="59"/>
        <source>Awaiting approval</source>
        <translation>待批准</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="60"/>
        <source>Final</source>
        <translation>已批准（正式）</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="65"/>
        <source>Pass</source>
        <translation>合格</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="65"/>
        <source>Fail</source>
        <translation>不合格</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="74"/>
        <source>You may not countersign this result: you signed it already, as its inspector or in the other role. Another person must.</source>
        <translation>您不能会签此结果：您已作为检定员或以另一角色签署过，须由他人会签。</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="78"/>
        <source>Your role may not do this.</source>
        <translation>您的角色无权执行此操作。</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="81"/>
        <source>A signature on this result does not verify: the record or a countersignature was altered. Do not release it; report it.</source>
        <translation>此结果的签名验证失败：记录或会签已被篡改。请勿发布，并上报。</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="85"/>
        <source>Not yet checked and approved: only a draft can be printed.</source>
        <translation>尚未核验和批准：只能打印草稿。</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="87"/>
        <source>This step cannot be done now.</source>
        <translation>此步骤当前无法执行。</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="125"/>
        <source>Countersign verification results</source>
        <translation>检定结果会签</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="131"/>
        <source>Signed in as {name} ({role})</source>
        <translation>当前用户：{name}（{role}）</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="135"/>
        <source>Nobody is signed in</source>
        <translation>未登录</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="139"/>
        <source>A signed result is final only after a checker (核验员) and then an approver (批准人) countersign it, each with their own key; neither may be its inspector, nor the same person twice.</source>
        <translation>已签名的检定结果须先经核验员核验、再经批准人批准（各用本人密钥会签）后方为正式结果；核验员和批准人均不得为该结果的检定员，也不得由同一人兼任。</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="145"/>
        <source>Show final results too</source>
        <translation>同时显示已批准结果</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="151"/>
        <source>Inspector</source>
        <translation>检定员</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="152"/>
        <source>Result</source>
        <translation>结论</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="153"/>
        <source>Verified at</source>
        <translation>检定时间</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="154"/>
        <source>Certificate no.</source>
        <translation>证书编号</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="155"/>
        <source>Checker</source>
        <translation>核验员</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="156"/>
        <source>Approver</source>
        <translation>批准人</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="157"/>
        <source>Stage</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="170"/>
        <source>Fetch new results from the log</source>
        <translation>从账本获取新结果</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="172"/>
        <source>Check</source>
        <translation>核验</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="173"/>
        <source>Approve</source>
        <translation>批准</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="177"/>
        <source>Only a checker countersigns a check</source>
        <translation>仅核验员可核验</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="179"/>
        <source>Only an approver approves</source>
        <translation>仅批准人可批准</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="244"/>
        <source>checker</source>
        <translation>核验员</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="245"/>
        <source>approver</source>
        <translation>批准人</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="246"/>
        <source>inspector</source>
        <translation>检定员</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="247"/>
        <source>regulator</source>
        <translation>监管人员</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="248"/>
        <source>administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="273"/>
        <source>{n} new result(s) fetched from the log</source>
        <translation>已从账本获取 {n} 条新结果</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="309"/>
        <source>No results await countersigning.</source>
        <translation>没有待会签的结果。</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="350"/>
        <source>{id}: checked by {name}</source>
        <translation>{id}：已由 {name} 核验</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="352"/>
        <source>{id}: approved by {name}; it may now be printed as final</source>
        <translation>{id}：已由 {name} 批准，现可正式打印</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="89"/>
        <source>No certificate can be printed from this signed record.</source>
        <translation>无法依据此签名记录打印证书。</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="180"/>
        <source>Print final certificate…</source>
        <translation>打印正式证书…</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="181"/>
        <source>Print draft…</source>
        <translation>打印草稿…</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="185"/>
        <source>Your role may not print certificates</source>
        <translation>您的角色无权打印证书</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="383"/>
        <source>Save the certificate as</source>
        <translation>证书另存为</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="383"/>
        <source>PDF files (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="408"/>
        <source>Final certificate written to {path}</source>
        <translation>正式证书已保存至 {path}</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="408"/>
        <source>Draft written to {path}</source>
        <translation>草稿已保存至 {path}</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="193"/>
        <source>Not set: certificates print —</source>
        <translation>未设置：证书上打印“—”</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="194"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="216"/>
        <source>Measurement standard approval certificate (for new verifications)</source>
        <translation>计量标准考核证书编号（用于今后的检定）</translation>
    </message>
    <message>
        <location filename="../../app/views/countersign.py" line="377"/>
        <source>Approval certificate number saved</source>
        <translation>计量标准考核证书编号已保存</translation>
    </message>
</context>
<context>
    <name>DispenserDetailView</name>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="76"/>
        <source>critical</source>
        <translation>紧急</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="77"/>
        <source>high</source>
        <translation>高</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="78"/>
        <source>warning</source>
        <translation>警告</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="79"/>
        <source>info</source>
        <translation>提示</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="127"/>
        <source>Severity</source>
        <translation>级别</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="124"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="110"/>
        <source>Station</source>
        <translation>加油站</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="112"/>
        <source>District</source>
        <translation>区县</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="119"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="111"/>
        <source>Operator</source>
        <translation>经营者</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="60"/>
        <source>Transducer adjustment</source>
        <translation>计量器调整机构</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="61"/>
        <source>Encoder ↔ transducer</source>
        <translation>编码器与计量器连接处</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="62"/>
        <source>Control board ↔ housing</source>
        <translation>主板与机壳</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="68"/>
        <source>intact</source>
        <translation>完好</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="69"/>
        <source>opened</source>
        <translation>已打开</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="70"/>
        <source>tampered</source>
        <translation>被破坏</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="113"/>
        <source>Serial no.</source>
        <translation>出厂编号</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="114"/>
        <source>Control board</source>
        <translation>主板</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="115"/>
        <source>Maker / model</source>
        <translation>制造商 / 型号</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="116"/>
        <source>Certificate</source>
        <translation>检定证书</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="117"/>
        <source>Commissioned</source>
        <translation>投用日期</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="118"/>
        <source>Nozzles</source>
        <translation>油枪</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="121"/>
        <source>:</source>
        <translation>：</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="124"/>
        <source>Seal position</source>
        <translation>铅封位置</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="124"/>
        <source>Last event</source>
        <translation>最近事件</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="127"/>
        <source>Rule</source>
        <translation>规则</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="127"/>
        <source>Finding</source>
        <translation>发现</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="127"/>
        <source>Nozzle / tank</source>
        <translation>油枪 / 油罐</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="127"/>
        <source>Time (UTC+8)</source>
        <translation>时间（北京时间）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="150"/>
        <source>Nozzle</source>
        <translation>油枪</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="163"/>
        <source>No dispenser selected</source>
        <translation>未选择加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="178"/>
        <source>Volume (L)</source>
        <translation>加油量（升）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="179"/>
        <source>Totalizer (L)</source>
        <translation>累计数（升）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="180"/>
        <source>Δ total − Σ (mL)</source>
        <translation>Δ累计 − Σ加油（毫升）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="181"/>
        <source>Price (¥/L)</source>
        <translation>单价（元/升）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="182"/>
        <source>Tank balance (L)</source>
        <translation>油罐日平衡（升）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="190"/>
        <source>Dispenser</source>
        <translation>加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="192"/>
        <source>Tax box</source>
        <translation>税控</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="202"/>
        <source>Tolerance: one display step (10 mL)</source>
        <translation>允差：一个显示分度（10 毫升）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="222"/>
        <source>Loading dispenser %1…</source>
        <translation>正在读取加油机 %1…</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="265"/>
        <source>No. %1 (%2, tank %3)</source>
        <translation>%1 号枪（%2，油罐 %3）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="280"/>
        <source>Fuel dispenser %1</source>
        <translation>加油机 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="289"/>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="293"/>
        <source>none on record</source>
        <translation>无记录</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="329"/>
        <source>alarm</source>
        <translation>告警</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="329"/>
        <source>finding</source>
        <translation>发现</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="341"/>
        <source>No open findings or alarms</source>
        <translation>无未关闭的发现或告警</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/dispenser_detail.py" line="388"/>
        <source>%1 fuellings, %2 L; %3 totalizer readings, %4 off by more than 10 mL</source>
        <translation>加油 %1 笔，共 %2 升；累计数读数 %3 次，其中 %4 次偏差超过 10 毫升</translation>
    </message>
</context>
<context>
    <name>DueListView</name>
    <message>
        <location filename="../../app/views/due_list.py" line="100"/>
        <location filename="../../app/views/due_list.py" line="493"/>
        <source>Overdue</source>
        <translation>已逾期</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="63"/>
        <source>First verification missing</source>
        <translation>缺少首次检定</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="64"/>
        <source>Rotation period ends</source>
        <translation>到期轮换</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="65"/>
        <source>Last verification failed</source>
        <translation>上次检定不合格</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="66"/>
        <source>Anomaly: offline re-verification</source>
        <translation>异常警示线下检定</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="68"/>
        <source>Added by the regulator</source>
        <translation>监管人员添加</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="69"/>
        <source>Re-assigned</source>
        <translation>重新分配</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="101"/>
        <location filename="../../app/views/due_list.py" line="494"/>
        <source>Due within 30 days</source>
        <translation>30 天内到期</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="102"/>
        <location filename="../../app/views/due_list.py" line="495"/>
        <source>Due within 90 days</source>
        <translation>90 天内到期</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="103"/>
        <source>Valid</source>
        <translation>有效</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="220"/>
        <location filename="../../app/views/due_list.py" line="347"/>
        <source>Days left</source>
        <translation>剩余天数</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="223"/>
        <source>Detail</source>
        <translation>说明</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="497"/>
        <location filename="../../app/views/due_list.py" line="570"/>
        <source>Search pile, station, district…</source>
        <translation>搜索充电桩、充电站、行政区…</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="500"/>
        <source>Export Excel…</source>
        <translation>导出 Excel…</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="501"/>
        <source>Create work order…</source>
        <translation>创建工单…</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="504"/>
        <source>Only regulators create work orders</source>
        <translation>仅监管人员可创建工单</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="507"/>
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="614"/>
        <source>{overdue} overdue · {due30} due ≤30 d · {due90} ≤90 d · {triggered} anomaly</source>
        <translation>逾期 {overdue} · 30 天内到期 {due30} · 90 天内到期 {due90} · 异常 {triggered}</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="615"/>
        <source>{checked} checked</source>
        <translation>已勾选 {checked} 个</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="659"/>
        <source>CSV (*.csv)</source>
        <translation>CSV (*.csv)</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="659"/>
        <source>Excel (*.xlsx)</source>
        <translation>Excel (*.xlsx)</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="661"/>
        <source>Export due list</source>
        <translation>导出到期清单</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="684"/>
        <location filename="../../app/views/due_list.py" line="695"/>
        <source>Exported {n} rows to {path}</source>
        <translation>已导出 {n} 行至 {path}</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="723"/>
        <source>Check the piles to put on the work order first</source>
        <translation>请先勾选要列入工单的充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="212"/>
        <source>Pile</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="213"/>
        <location filename="../../app/views/due_list.py" line="337"/>
        <source>Station</source>
        <translation>充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="214"/>
        <location filename="../../app/views/due_list.py" line="343"/>
        <source>District</source>
        <translation>行政区</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="215"/>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="218"/>
        <location filename="../../app/views/due_list.py" line="346"/>
        <source>Due date</source>
        <translation>到期日</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="221"/>
        <location filename="../../app/views/due_list.py" line="348"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="222"/>
        <location filename="../../app/views/due_list.py" line="349"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="499"/>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="492"/>
        <source>All due</source>
        <translation>全部到期</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="496"/>
        <source>Triggered by anomalies</source>
        <translation>异常触发</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="118"/>
        <source>critical</source>
        <translation>严重</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="119"/>
        <source>high</source>
        <translation>高</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="120"/>
        <source>warning</source>
        <translation>警告</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="67"/>
        <source>Certificate expires</source>
        <translation>证书有效期届满</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="110"/>
        <source>Regulation</source>
        <translation>检定规程</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="111"/>
        <source>Supervision policy</source>
        <translation>监管政策</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="112"/>
        <source>Anomaly alert</source>
        <translation>异常警示</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="127"/>
        <source>Regulation cycle, {years} years</source>
        <translation>检定周期 {years} 年（规程）</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="133"/>
        <source>no meter registered for the pile</source>
        <translation>该桩未登记电能表</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="134"/>
        <source>meter {meter}: no certificate</source>
        <translation>电能表 {meter}：无检定证书</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="135"/>
        <source>meter {meter}: verification {number} failed</source>
        <translation>电能表 {meter}：检定 {number} 不合格</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="136"/>
        <source>meter {meter}: certificate {number} of {date}</source>
        <translation>电能表 {meter}：证书 {number}（{date}）</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="137"/>
        <source>meter {meter}: certificate {number} has no date; from installation</source>
        <translation>电能表 {meter}：证书 {number} 无日期，按安装日计</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="138"/>
        <source>{severity} anomaly {rule} (#{id})</source>
        <translation>{rule} 异常（{severity}，#{id}）</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="139"/>
        <source>{severity} alarm {kind} (#{id})</source>
        <translation>{kind} 告警（{severity}，#{id}）</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="216"/>
        <location filename="../../app/views/due_list.py" line="345"/>
        <source>Certificate valid until</source>
        <translation>证书有效期至</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="217"/>
        <source>Validity set by</source>
        <translation>有效期依据</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="219"/>
        <source>Due date set by</source>
        <translation>到期日依据</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="289"/>
        <location filename="../../app/views/due_list.py" line="414"/>
        <source>none valid</source>
        <translation>无有效证书</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="85"/>
        <source>Taxi meters</source>
        <translation>出租车计价器</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="350"/>
        <source>Evidence</source>
        <translation>依据</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="335"/>
        <source>Instrument</source>
        <translation>计量器具</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="71"/>
        <source>Seal opened (F08)</source>
        <translation>铅封开启（F08）</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="72"/>
        <source>Seal broken</source>
        <translation>铅封被破坏</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="73"/>
        <source>Validity expired</source>
        <translation>有效期已届满</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="74"/>
        <source>Validity ends soon</source>
        <translation>有效期即将届满</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="75"/>
        <source>Never verified</source>
        <translation>从未检定</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="76"/>
        <source>Drift suspected</source>
        <translation>疑似计量漂移</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="83"/>
        <source>Charging piles</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="84"/>
        <source>Fuel dispensers</source>
        <translation>加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="333"/>
        <source>Dispenser</source>
        <translation>加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="333"/>
        <location filename="../../app/views/due_list.py" line="335"/>
        <source>Serial</source>
        <translation>出厂编号</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="334"/>
        <source>Plate</source>
        <translation>车牌号</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="334"/>
        <source>Meter serial</source>
        <translation>计价器编号</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="344"/>
        <source>Operator</source>
        <translation>运营商</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="408"/>
        <source>Summoned to the station</source>
        <translation>通知到检定站</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="714"/>
        <source>Check the instruments to put on the work order first</source>
        <translation>请先勾选要列入工单的计量器具</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="336"/>
        <source>Fuel station</source>
        <translation>加油站</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="336"/>
        <source>Verification site</source>
        <translation>检定地点</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="572"/>
        <source>Search instrument, serial, station, company…</source>
        <translation>搜索器具、编号、站点、企业…</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="92"/>
        <source>Charging pile</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="93"/>
        <source>Fuel dispenser</source>
        <translation>加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/due_list.py" line="94"/>
        <source>Taxi meter</source>
        <translation>出租车计价器</translation>
    </message>
</context>
<context>
    <name>ExplorerView</name>
    <message>
        <location filename="../../app/views/explorer.py" line="139"/>
        <source>Search ID, name or address</source>
        <translation>搜索编号、名称或地址</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="151"/>
        <source>Show piles of every station</source>
        <translation>显示所有充电站的充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="154"/>
        <source>Reset</source>
        <translation>重置</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="181"/>
        <source>Piles</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="181"/>
        <source>Stations</source>
        <translation>充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="181"/>
        <source>Operators</source>
        <translation>运营商</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="212"/>
        <source>All operators</source>
        <translation>全部运营商</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="213"/>
        <source>All districts</source>
        <translation>全部行政区</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="214"/>
        <source>All types</source>
        <translation>全部类型</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="215"/>
        <source>AC</source>
        <translation>交流</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="216"/>
        <source>DC</source>
        <translation>直流</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="217"/>
        <source>All statuses</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="264"/>
        <source>Station: %1  ×</source>
        <translation>充电站：%1  ×</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="324"/>
        <source>%1 piles</source>
        <translation>共 %1 个充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="325"/>
        <source>%1 stations</source>
        <translation>共 %1 个充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="326"/>
        <source>%1 operators</source>
        <translation>共 %1 家运营商</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="164"/>
        <source>District</source>
        <translation>行政区</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="165"/>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="166"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/explorer.py" line="163"/>
        <source>Operator</source>
        <translation>运营商</translation>
    </message>
</context>
<context>
    <name>FuelVerificationWizard</name>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="164"/>
        <location filename="../../app/views/fuel/verification_wizard.py" line="800"/>
        <source>Verification</source>
        <translation>检定类别</translation>
    </message>
    <message>
        <source>Inspector ID</source>
        <translation type="vanished">检定员编号</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="632"/>
        <source>Pass</source>
        <translation>合格</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="632"/>
        <source>Fail</source>
        <translation>不合格</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="403"/>
        <source>Result</source>
        <translation>结论</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="260"/>
        <location filename="../../app/views/fuel/verification_wizard.py" line="803"/>
        <source>Certificate valid until</source>
        <translation>证书有效期至</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="273"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="84"/>
        <source>Nameplate and markings complete (maker, model, serial, Qmax/Qmin)</source>
        <translation>铭牌和标志齐全（制造单位、型号、出厂编号、Qmax/Qmin）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="85"/>
        <source>Volume, amount and unit price displays legible and complete</source>
        <translation>体积、金额、单价显示清晰完整</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="86"/>
        <source>Unit price shown equals the station's posted price</source>
        <translation>显示单价与加油站公示价格一致</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="87"/>
        <source>Seals intact at all three positions (transducer, encoder, board)</source>
        <translation>三处封印完好（流量测量变换器、编码器、主板）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="88"/>
        <source>Software identifier shown and matches the type approval</source>
        <translation>软件标识可显示且与型式批准一致</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="89"/>
        <source>Hose and nozzle without leaks; nozzle shuts off</source>
        <translation>油枪、胶管无渗漏，油枪自封正常</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="120"/>
        <source>1. Dispenser and nozzle</source>
        <translation>1. 加油机与油枪</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="121"/>
        <source>Choose the dispenser from the list or type its ID.</source>
        <translation>从列表中选择加油机，或输入其编号。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="147"/>
        <source>Also a medium flow point</source>
        <translation>增加中间流量点</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="157"/>
        <source>Dispenser ID</source>
        <translation>加油机编号</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="158"/>
        <source>Nozzle</source>
        <translation>油枪</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="159"/>
        <source>Product</source>
        <translation>油品</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="160"/>
        <source>Maximum flow Qmax</source>
        <translation>最大流量 Qmax</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="161"/>
        <source>Minimum flow Qmin</source>
        <translation>最小流量 Qmin</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="163"/>
        <source>Volume per run</source>
        <translation>每次检定体积</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="222"/>
        <source>2. Checks before the error test</source>
        <translation>2. 示值误差检定前检查</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="223"/>
        <source>Tick every item that conforms; an unticked item fails the nozzle.</source>
        <translation>勾选每一项符合要求的项目；未勾选的项目判该油枪不合格。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="861"/>
        <source>All conform</source>
        <translation>全部符合</translation>
    </message>
    <message>
        <source>Number of the seal applied after verification</source>
        <translation type="vanished">检定后加施的封印编号</translation>
    </message>
    <message>
        <source>Seal number</source>
        <translation type="vanished">封印编号</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="224"/>
        <source>Ambient temperature</source>
        <translation>环境温度</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="240"/>
        <source>3. Standard</source>
        <translation>3. 计量标准器</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="241"/>
        <source>Choose the standard and check that its certificate is valid.</source>
        <translation>选择计量标准器，并确认其检定证书在有效期内。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="243"/>
        <source>Standard metal measure (readings typed)</source>
        <translation>标准金属量器（手工录入读数）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="244"/>
        <source>Standard flowmeter on a serial port</source>
        <translation>串口连接的标准流量计</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="256"/>
        <source>Metal measure</source>
        <translation>标准金属量器</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="258"/>
        <source>Serial number</source>
        <translation>出厂编号</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="259"/>
        <source>Certificate number</source>
        <translation>证书编号</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="263"/>
        <source>Connect</source>
        <translation>连接</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="267"/>
        <source>Flowmeter</source>
        <translation>标准流量计</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="272"/>
        <source>Serial port</source>
        <translation>串口</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="302"/>
        <source>Connecting…</source>
        <translation>正在连接…</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="318"/>
        <source>%1 — accuracy %2 %, certificate %3, valid until %4</source>
        <translation>%1 — 准确度 %2 %，证书 %3，有效期至 %4</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="345"/>
        <source>Connect the flowmeter first.</source>
        <translation>请先连接标准流量计。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="347"/>
        <source>Enter the standard's certificate number.</source>
        <translation>请输入标准器的证书编号。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="351"/>
        <source>Enter the certificate's expiry as YYYY-MM-DD.</source>
        <translation>请按 YYYY-MM-DD 输入证书有效期。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="353"/>
        <source>The standard's certificate expired on %1: it cannot be used.</source>
        <translation>标准器证书已于 %1 过期，不能使用。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="383"/>
        <source>4. Readings</source>
        <translation>4. 测量读数</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="387"/>
        <location filename="../../app/views/fuel/verification_wizard.py" line="403"/>
        <source>Point</source>
        <translation>流量点</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="388"/>
        <source>Flow (L/min)</source>
        <translation>流量（L/min）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="389"/>
        <source>Run</source>
        <translation>次</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="390"/>
        <source>Dispenser shows (mL)</source>
        <translation>加油机示值（mL）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="391"/>
        <source>Standard reads (mL)</source>
        <translation>标准器读数（mL）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="392"/>
        <source>Standard °C</source>
        <translation>标准器油温 ℃</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="393"/>
        <source>Dispenser °C</source>
        <translation>加油机油温 ℃</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="394"/>
        <source>Error (%)</source>
        <translation>误差（%）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="403"/>
        <source>Largest error (%)</source>
        <translation>最大示值误差（%）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="403"/>
        <source>Repeatability (%)</source>
        <translation>重复性（%）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="410"/>
        <source>Limits: every run within ±%1 %, repeatability (max − min) ≤ %2 %.</source>
        <translation>限值：每次误差在 ±%1 % 以内，重复性（最大值-最小值）≤ %2 %。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="414"/>
        <source>Measure all runs with the flowmeter</source>
        <translation>用标准流量计测量全部次数</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="420"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="462"/>
        <source>Measure each run with the flowmeter.</source>
        <translation>用标准流量计测量每一次。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="460"/>
        <source>Type the dispenser's display, the measure's reading and both temperatures.</source>
        <translation>录入加油机示值、量器读数及两处油温。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="682"/>
        <source>Measuring…</source>
        <translation>正在测量…</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="704"/>
        <source>%1 of %2 runs measured.</source>
        <translation>已测量 %1 / %2 次。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="799"/>
        <source>Dispenser and nozzle</source>
        <translation>加油机与油枪</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="801"/>
        <source>Standard</source>
        <translation>计量标准器</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="802"/>
        <source>Checks before the error test</source>
        <translation>检定前检查</translation>
    </message>
    <message>
        <source>Sign and queue for upload</source>
        <translation type="vanished">签名并排队上传</translation>
    </message>
    <message>
        <source>Save certificate PDF</source>
        <translation type="vanished">保存证书 PDF</translation>
    </message>
    <message>
        <source>Inspector name</source>
        <translation type="vanished">检定员姓名</translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation type="vanished">口令</translation>
    </message>
    <message>
        <source>Sign and issue</source>
        <translation type="vanished">签名与出具</translation>
    </message>
    <message>
        <source>PASS</source>
        <translation type="vanished">合格</translation>
    </message>
    <message>
        <source>FAIL</source>
        <translation type="vanished">不合格</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="864"/>
        <source>— (failed)</source>
        <translation>—（不合格）</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="870"/>
        <source>Check failed: %1</source>
        <translation>检查不符合：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="877"/>
        <source>%1: repeatability %2 over the limit</source>
        <translation>%1：重复性 %2 超出限值</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="880"/>
        <source>%1: error %2 beyond the limit</source>
        <translation>%1：示值误差 %2 超出最大允许误差</translation>
    </message>
    <message>
        <source>Enter your inspector ID first.</source>
        <translation type="vanished">请先输入检定员编号。</translation>
    </message>
    <message>
        <source>Signed with key %1 and queued as %2.</source>
        <translation type="vanished">已用密钥 %1 签名，并以 %2 排队上传。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="919"/>
        <source>Certificate saved to %1</source>
        <translation>证书已保存到 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="947"/>
        <source>Fuel dispenser verification</source>
        <translation>燃油加油机检定</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="793"/>
        <source>5. Verdict</source>
        <translation>5. 检定结论</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="794"/>
        <source>Check the figures; sign, then save the certificate or notice.</source>
        <translation>核对数据；签名后保存检定证书或检定结果通知书。</translation>
    </message>
    <message>
        <source>Signs with the key in %1.</source>
        <translation type="vanished">使用 %1 中的密钥签名。</translation>
    </message>
    <message>
        <source>No key yet: signing creates one at %1, encrypted with this passphrase.</source>
        <translation type="vanished">尚无密钥：签名时将在 %1 创建密钥，并用此口令加密。</translation>
    </message>
    <message>
        <source>New key: have its public key registered before uploading.</source>
        <translation type="vanished">新密钥：上传前请先登记其公钥。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="416"/>
        <source>Start batch</source>
        <translation>开始计量</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="418"/>
        <source>Stop and read</source>
        <translation>停止并读数</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="464"/>
        <source>Per run: Start batch, deliver the preset, Stop and read, then type the dispenser's display and temperature.</source>
        <translation>每次：点“开始计量”，按预置量加油，点“停止并读数”，再录入加油机示值和油温。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="747"/>
        <source>Batch started for %1 run %2: deliver the preset, then Stop and read.</source>
        <translation>%1 第 %2 次已开始计量：按预置量加油后点“停止并读数”。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="774"/>
        <source>Type the dispenser's display and temperature for this run.</source>
        <translation>请录入本次加油机示值和油温。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="359"/>
        <source>The flowmeter's accuracy %1 % is coarser than %2 % (a third of the MPE).</source>
        <translation>标准流量计准确度 %1 % 低于要求的 %2 %（最大允许误差的三分之一），不能使用。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="526"/>
        <source>%1 run(s) taken earlier restored from the journal.</source>
        <translation>已从记录日志恢复此前测量的 %1 次。</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="611"/>
        <source>ΔT &gt; %1 °C</source>
        <translation>ΔT &gt; %1 ℃</translation>
    </message>
    <message>
        <location filename="../../app/views/fuel/verification_wizard.py" line="615"/>
        <source>%1 run %2: the fuel temperatures differ too much; repeat the run.</source>
        <translation>%1 第 %2 次：两处油温相差过大，请重做本次。</translation>
    </message>
</context>
<context>
    <name>LogNames</name>
    <message>
        <location filename="../../app/views/log_names.py" line="40"/>
        <source>log no. %1</source>
        <translation>%1 号账本</translation>
    </message>
    <message>
        <location filename="../../app/views/log_names.py" line="41"/>
        <source>%1 in %2</source>
        <translation>%2 第 %1 条</translation>
    </message>
</context>
<context>
    <name>LogsPanel</name>
    <message>
        <location filename="../../app/views/logs_panel.py" line="162"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="41"/>
        <source>usable</source>
        <translation>可用</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="42"/>
        <source>read-only</source>
        <translation>只读</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="43"/>
        <source>retired</source>
        <translation>已退役</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="50"/>
        <source>syncing</source>
        <translation>同步中</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="51"/>
        <source>ok</source>
        <translation>正常</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="52"/>
        <source>offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="53"/>
        <location filename="../../app/views/logs_panel.py" line="54"/>
        <source>halted — platform misbehaviour</source>
        <translation>已停止-平台异常</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="55"/>
        <source>error, retrying</source>
        <translation>出错，重试中</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="56"/>
        <source>not synced yet</source>
        <translation>尚未同步</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="57"/>
        <source>not followed (retired)</source>
        <translation>不再跟随（已退役）</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="159"/>
        <source>Log (origin)</source>
        <translation>账本（来源名）</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="160"/>
        <source>Region</source>
        <translation>辖区</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="161"/>
        <source>Shard interval</source>
        <translation>分片时段</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="163"/>
        <source>Verified size</source>
        <translation>已验证条目数</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="164"/>
        <source>Sync status</source>
        <translation>同步状态</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="165"/>
        <source>Last success</source>
        <translation>上次成功</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="232"/>
        <source>Entries from %1 up to (not including) %2, Hangzhou time</source>
        <translation>收录 %1 起至 %2 前（不含）的条目，杭州时间</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="271"/>
        <source>syncing %1 / %2</source>
        <translation>同步中 %1 / %2</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="294"/>
        <location filename="../../app/views/logs_panel.py" line="371"/>
        <source>No log list accepted yet.</source>
        <translation>尚未接受任何日志清单。</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="362"/>
        <source>%1 logs</source>
        <translation>%1 个账本</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="364"/>
        <source>%1 offline</source>
        <translation>%1 个离线</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="366"/>
        <source>%1 halted</source>
        <translation>%1 个已停止</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="373"/>
        <source>Signed log list no. %1</source>
        <translation>已签名日志清单 第 %1 号</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="375"/>
        <source>region %1</source>
        <translation>辖区 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="379"/>
        <source>The log list was refused: %1</source>
        <translation>日志清单被拒绝：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="381"/>
        <source>Log list: %1</source>
        <translation>日志清单：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/logs_panel.py" line="377"/>
        <source>No log of this list is followed for this region.</source>
        <translation>此清单中没有本辖区跟随的账本。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../app/main_window.py" line="202"/>
        <source>Anxin Charging — Metrology Supervision Workstation</source>
        <translation>安心充电 — 计量监管工作站</translation>
    </message>
    <message>
        <source>No ledger synced yet.</source>
        <translation type="vanished">尚未同步账本。</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="223"/>
        <source>Not synced</source>
        <translation>未同步</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="294"/>
        <source>Operators, stations, piles</source>
        <translation>运营商、充电站、充电桩</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="295"/>
        <source>Pile detail</source>
        <translation>充电桩详情</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="301"/>
        <source>Session lookup</source>
        <translation>充电记录查询</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="329"/>
        <location filename="../../app/main_window.py" line="786"/>
        <source>Open alarms: %1</source>
        <translation>未处理告警：%1</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="337"/>
        <source>Alarms</source>
        <translation>告警</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="495"/>
        <location filename="../../app/main_window.py" line="498"/>
        <location filename="../../app/main_window.py" line="515"/>
        <source>Evidence</source>
        <translation>证据</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="495"/>
        <source>Needs a platform to fetch proofs.</source>
        <translation>需连接平台才能获取证明。</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="503"/>
        <source>Save evidence bundle</source>
        <translation>保存证据包</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="512"/>
        <source>Evidence bundle written: %1</source>
        <translation>证据包已保存：%1</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="546"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="547"/>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="550"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="553"/>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="567"/>
        <source>&amp;Evidence</source>
        <translation>证据(&amp;E)</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="568"/>
        <source>Export evidence bundle for a session…</source>
        <translation>导出充电记录证据包…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="679"/>
        <source>Syncing %1 / %2 entries (%3/s)</source>
        <translation>正在同步 %1 / %2 条（%3 条/s）</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="621"/>
        <location filename="../../app/main_window.py" line="690"/>
        <source>Ledger misbehaviour</source>
        <translation>账本异常</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="720"/>
        <source>Offline — data as of %1</source>
        <translation>离线 — 数据截至 %1</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="723"/>
        <source>Sync halted: platform misbehaviour</source>
        <translation>同步已停止：平台数据异常</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="726"/>
        <source>Sync error, retrying</source>
        <translation>同步出错，正在重试</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="729"/>
        <source>Synced and verified</source>
        <translation>已同步并验证</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="734"/>
        <source>Checkpoint %1 entries, %2 s ago</source>
        <translation>检查点 %1 条，%2 s 前</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="791"/>
        <source>Cannot read the store: %1</source>
        <translation>无法读取本地库：%1</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="498"/>
        <source>Session ID</source>
        <translation>充电记录编号</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="692"/>
        <source>The platform served data that fails verification. Sync is halted and the evidence is stored.</source>
        <translation>平台提供的数据未通过验证。同步已停止，证据已保存。</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="305"/>
        <source>Verification due</source>
        <translation>检定到期</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="320"/>
        <source>Work orders</source>
        <translation>工单</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="389"/>
        <source>Field package written: %1</source>
        <translation>现场离线包已保存：%1</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="392"/>
        <source>Field package</source>
        <translation>现场离线包</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="532"/>
        <source>OCMF records</source>
        <translation>OCMF 记录</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="535"/>
        <source>Meter public key</source>
        <translation>电能表公钥</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="554"/>
        <source>Veri&amp;fication</source>
        <translation>检定(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="555"/>
        <source>On-site verification with the rig…</source>
        <translation>使用检定装置现场检定…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="571"/>
        <source>Import OCMF signed meter data…</source>
        <translation>导入 OCMF 签名计量数据…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="403"/>
        <location filename="../../app/main_window.py" line="447"/>
        <source>Verification</source>
        <translation>检定</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="564"/>
        <source>Countersign results (check / approve)…</source>
        <translation>检定结果会签（核验 / 批准）…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="300"/>
        <source>Dispenser detail</source>
        <translation>加油机详情</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="310"/>
        <source>Taxi meters</source>
        <translation>出租车计价器</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="558"/>
        <source>Fuel dispenser verification (JJG 443)…</source>
        <translation>加油机检定（JJG 443）…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="561"/>
        <source>Taximeter verification (JJG 517)…</source>
        <translation>出租车计价器检定（JJG 517）…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="346"/>
        <source>Logs</source>
        <translation>账本</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="614"/>
        <source>The platform of log %1 served data that fails verification. Sync of this log is halted and the evidence is stored; the other logs go on.</source>
        <translation>账本 %1 的平台提供了无法通过验证的数据。该账本的同步已停止，证据已保存；其他账本继续同步。</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="618"/>
        <source>The signed log list is refused; no log is synced until it is fixed.</source>
        <translation>已签名日志清单被拒绝；在清单修正之前不同步任何账本。</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="760"/>
        <source>Log list no. %1, checked %2 s ago</source>
        <translation>日志清单第 %1 号，%2 秒前检查</translation>
    </message>
</context>
<context>
    <name>MapView</name>
    <message>
        <location filename="../../app/views/map_view.py" line="134"/>
        <source>Normal</source>
        <translation>正常</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="135"/>
        <source>Anomaly</source>
        <translation>异常</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="136"/>
        <source>Open alarm</source>
        <translation>未处理告警</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="137"/>
        <source>Verification overdue</source>
        <translation>检定逾期</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="138"/>
        <source>Silent</source>
        <translation>无数据</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="146"/>
        <source>Fuel dispenser</source>
        <translation>加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="147"/>
        <source>Charging pile</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="152"/>
        <location filename="../../app/views/map_view.py" line="1680"/>
        <source>DC</source>
        <translation>直流</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="153"/>
        <location filename="../../app/views/map_view.py" line="1679"/>
        <source>AC</source>
        <translation>交流</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1366"/>
        <location filename="../../app/views/map_view.py" line="1399"/>
        <source>Station</source>
        <translation>充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1371"/>
        <location filename="../../app/views/map_view.py" line="1404"/>
        <location filename="../../app/views/map_view.py" line="1675"/>
        <source>Operator</source>
        <translation>运营商</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1377"/>
        <location filename="../../app/views/map_view.py" line="1410"/>
        <location filename="../../app/views/map_view.py" line="1676"/>
        <source>District</source>
        <translation>行政区</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1952"/>
        <source>, %1 / %2 fuel dispensers</source>
        <translation>，加油机 %1 / %2 台</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1362"/>
        <location filename="../../app/views/map_view.py" line="1414"/>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1380"/>
        <location filename="../../app/views/map_view.py" line="1416"/>
        <location filename="../../app/views/map_view.py" line="1813"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1386"/>
        <source>Click for the dispenser's detail</source>
        <translation>点击查看加油机详情</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1433"/>
        <source>%1 fuel dispensers</source>
        <translation>%1 台加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1435"/>
        <source>%1 charging piles</source>
        <translation>%1 个充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1446"/>
        <source>Click to zoom in</source>
        <translation>点击放大</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1625"/>
        <source>All operators</source>
        <translation>全部运营商</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1629"/>
        <source>All districts</source>
        <translation>全部行政区</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1635"/>
        <source>Search operator…</source>
        <translation>搜索运营商…</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1682"/>
        <source>Charging piles</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1685"/>
        <location filename="../../app/views/map_view.py" line="1827"/>
        <source>Fuel dispensers</source>
        <translation>加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1687"/>
        <source>Whole city</source>
        <translation>全市</translation>
    </message>
    <message>
        <source>Pile status</source>
        <translation type="vanished">充电桩状态</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1817"/>
        <source>Number of piles nearby</source>
        <translation>附近充电桩数量</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1820"/>
        <source>Centre: worst status; ring: status mix</source>
        <translation>中心：最差状态；外环：状态构成</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1824"/>
        <source>Anomaly rate by district</source>
        <translation>各行政区异常率</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1829"/>
        <source>Colour: status; square: a group</source>
        <translation>颜色：状态；方块：一组加油机</translation>
    </message>
    <message>
        <location filename="../../app/views/map_view.py" line="1944"/>
        <source>Showing %1 / %2 charging piles</source>
        <translation>显示 %1 / %2 个充电桩</translation>
    </message>
</context>
<context>
    <name>OcmfView</name>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="36"/>
        <source>Imported OCMF records</source>
        <translation>已导入的 OCMF 记录</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="41"/>
        <source>%1 records, %2 with a valid signature</source>
        <translation>共 %1 条记录，其中 %2 条签名有效</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="47"/>
        <source>session energy (begin → end): %1 kWh</source>
        <translation>充电记录电量（开始 → 结束）：%1 kWh</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="55"/>
        <source>Line</source>
        <translation>行号</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="57"/>
        <source>Pagination</source>
        <translation>分页号</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="58"/>
        <source>Begin</source>
        <translation>开始</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="59"/>
        <source>End</source>
        <translation>结束</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="61"/>
        <source>Signature</source>
        <translation>签名</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="56"/>
        <source>Meter</source>
        <translation>电能表</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="60"/>
        <source>Energy (kWh)</source>
        <translation>电量 (kWh)</translation>
    </message>
    <message>
        <source>verified</source>
        <translation type="vanished">已验证</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="25"/>
        <source>signature verified</source>
        <translation>签名验证通过</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="26"/>
        <source>signature does not verify</source>
        <translation>签名验证不通过</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="27"/>
        <source>no public key to check the signature with</source>
        <translation>无公钥，无法验证签名</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="28"/>
        <source>not a valid OCMF record</source>
        <translation>不是有效的 OCMF 记录</translation>
    </message>
    <message>
        <location filename="../../app/views/ocmf_view.py" line="50"/>
        <source>%1; %2</source>
        <translation>%1；%2</translation>
    </message>
</context>
<context>
    <name>PagedListModel</name>
    <message>
        <location filename="../../app/views/table_models.py" line="279"/>
        <source>Operator ID</source>
        <translation>运营商编号</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="280"/>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="281"/>
        <source>Credit code</source>
        <translation>统一社会信用代码</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="282"/>
        <source>Stations</source>
        <translation>充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="283"/>
        <source>Piles</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="284"/>
        <source>Station ID</source>
        <translation>充电站编号</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="285"/>
        <source>Station</source>
        <translation>充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="286"/>
        <source>Operator</source>
        <translation>运营商</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="287"/>
        <source>District</source>
        <translation>行政区</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="288"/>
        <source>Address</source>
        <translation>地址</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="289"/>
        <source>Pile ID</source>
        <translation>充电桩编号</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="290"/>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="291"/>
        <source>Rated power</source>
        <translation>额定功率</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="292"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="293"/>
        <source>Commissioned</source>
        <translation>投运日期</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="301"/>
        <source>Normal</source>
        <translation>正常</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="302"/>
        <source>Alarm</source>
        <translation>告警</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="303"/>
        <source>Anomaly</source>
        <translation>异常</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="304"/>
        <source>Seal open</source>
        <translation>电子铅封开启</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="305"/>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="306"/>
        <source>Verification overdue</source>
        <translation>检定逾期</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="314"/>
        <source>AC</source>
        <translation>交流</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="315"/>
        <source>DC</source>
        <translation>直流</translation>
    </message>
    <message>
        <location filename="../../app/views/table_models.py" line="564"/>
        <source>This column cannot be sorted</source>
        <translation>此列不能排序</translation>
    </message>
</context>
<context>
    <name>PileDetailView</name>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="184"/>
        <source>No pile selected</source>
        <translation>未选择充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="111"/>
        <source>Rated power</source>
        <translation>额定功率</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="112"/>
        <source>Meter class</source>
        <translation>准确度等级</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="113"/>
        <source>Certificate</source>
        <translation>检定证书</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="117"/>
        <source>:</source>
        <translation>：</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="198"/>
        <source>Show all</source>
        <translation>显示全部</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="200"/>
        <source>Export PNG…</source>
        <translation>导出 PNG…</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="213"/>
        <source>Energy (kWh)</source>
        <translation>电量 (kWh)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="215"/>
        <source>Register (kWh)</source>
        <translation>示值 (kWh)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="216"/>
        <source>Clock offset (s)</source>
        <translation>时钟偏差 (s)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="217"/>
        <source>Error (%)</source>
        <translation>误差 (%)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="231"/>
        <source>Billed</source>
        <translation>计费</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="234"/>
        <source>Metered</source>
        <translation>计量</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="256"/>
        <source>First verification limit ±5 s</source>
        <translation>首次检定限值 ±5 s</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="258"/>
        <source>Subsequent verification limit ±3 min</source>
        <translation>后续检定限值 ±3 min</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="276"/>
        <source>No verification on record for this pile</source>
        <translation>该充电桩暂无检定记录</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="307"/>
        <source>Loading pile %1…</source>
        <translation>正在加载充电桩 %1…</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="416"/>
        <source>Pile %1</source>
        <translation>充电桩 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="424"/>
        <source>none on record</source>
        <translation>无记录</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="437"/>
        <source>Commissioned %1</source>
        <translation>投运日期 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="490"/>
        <source>Class limit ±%1 %</source>
        <translation>等级限值 ±%1 %</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="515"/>
        <source>Seal opened</source>
        <translation>电子铅封开启</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="516"/>
        <source>Seal closed</source>
        <translation>电子铅封闭合</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="517"/>
        <source>Seal tampered</source>
        <translation>电子铅封被破坏</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="523"/>
        <source>%1 at %2 (meter %3, register %4, log entry %5)</source>
        <translation>%1，时间 %2（电能表 %3，示值 %4，账本条目 %5）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="535"/>
        <source>Anomaly %1 (%2) at %3</source>
        <translation>异常 %1（%2），时间 %3</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="546"/>
        <source>The moment asked for: %1</source>
        <translation>查询时刻：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="616"/>
        <source>session %1: metered %2, billed %3</source>
        <translation>充电记录 %1：计量 %2，计费 %3</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="619"/>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="624"/>
        <source>power %1 kW</source>
        <translation>功率 %1 kW</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="627"/>
        <source>register %1</source>
        <translation>示值 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="631"/>
        <source>clock offset %1 s</source>
        <translation>时钟偏差 %1 s</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="697"/>
        <source>Export plots</source>
        <translation>导出曲线图</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="697"/>
        <source>PNG images (*.png)</source>
        <translation>PNG 图片 (*.png)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="705"/>
        <source>Export sessions</source>
        <translation>导出充电记录</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="705"/>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="107"/>
        <source>Station</source>
        <translation>充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="109"/>
        <source>District</source>
        <translation>行政区</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="110"/>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="114"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="202"/>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="108"/>
        <source>Operator</source>
        <translation>运营商</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="214"/>
        <source>Power (kW)</source>
        <translation>功率 (kW)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/pile_detail.py" line="423"/>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
</context>
<context>
    <name>SessionLookupView</name>
    <message>
        <location filename="../../app/views/session_lookup.py" line="116"/>
        <location filename="../../app/views/session_lookup.py" line="257"/>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="116"/>
        <location filename="../../app/views/session_lookup.py" line="292"/>
        <source>Energy</source>
        <translation>电量</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="156"/>
        <source>Find a charging session</source>
        <translation>查找充电记录</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="160"/>
        <source>Session ID from the receipt</source>
        <translation>票据上的充电记录编号</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="162"/>
        <location filename="../../app/views/session_lookup.py" line="172"/>
        <location filename="../../app/views/session_lookup.py" line="188"/>
        <source>Find</source>
        <translation>查找</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="176"/>
        <source>Station ID or name</source>
        <translation>充电站编号或名称</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="193"/>
        <source>Pile and time</source>
        <translation>充电桩与时间</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="194"/>
        <source>Station and day</source>
        <translation>充电站与日期</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="247"/>
        <source>Metering record (signed by the meter)</source>
        <translation>计量记录（电能表签名）</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="252"/>
        <location filename="../../app/views/session_lookup.py" line="279"/>
        <source>Log entry</source>
        <translation>账本条目</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="255"/>
        <source>Energy meter</source>
        <translation>电能表</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="256"/>
        <source>Connector</source>
        <translation>充电接口</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="259"/>
        <source>Register at start</source>
        <translation>起始示值</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="260"/>
        <source>Register at stop</source>
        <translation>结束示值</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="261"/>
        <source>Metered energy</source>
        <translation>计量电量</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="262"/>
        <source>Power samples</source>
        <translation>功率采样</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="265"/>
        <source>Show on the pile's plots</source>
        <translation>在充电桩曲线中查看</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="270"/>
        <source>Bill (signed by the operator)</source>
        <translation>账单（运营商签名）</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="274"/>
        <source>Billed energy</source>
        <translation>计费电量</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="275"/>
        <source>Billed − metered</source>
        <translation>计费 − 计量</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="276"/>
        <source>Energy fee</source>
        <translation>电费</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="277"/>
        <source>Service fee</source>
        <translation>服务费</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="278"/>
        <location filename="../../app/views/session_lookup.py" line="305"/>
        <source>Amount charged</source>
        <translation>实收金额</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="280"/>
        <source>Tariff named</source>
        <translation>账单所列电价</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="281"/>
        <source>Bills for this session</source>
        <translation>该充电记录的账单数</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="286"/>
        <source>Tariff in force and fair amount</source>
        <translation>执行电价与应付金额</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="292"/>
        <source>Period</source>
        <translation>时段</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="292"/>
        <source>Energy price</source>
        <translation>电费单价</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="292"/>
        <source>Service price</source>
        <translation>服务费单价</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="292"/>
        <source>Charge</source>
        <translation>金额</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="302"/>
        <source>Fair energy fee</source>
        <translation>应付电费</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="303"/>
        <source>Fair service fee</source>
        <translation>应付服务费</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="304"/>
        <source>Fair amount</source>
        <translation>应付金额</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="328"/>
        <source>Signatures and inclusion</source>
        <translation>签名与包含证明</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="333"/>
        <source>Fetch inclusion proofs</source>
        <translation>获取包含证明</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="405"/>
        <source>Searching…</source>
        <translation>正在查找…</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="414"/>
        <source>Lookup failed: %1</source>
        <translation>查找失败：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="440"/>
        <source>No session found.</source>
        <translation>未找到充电记录。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="442"/>
        <source>One session found.</source>
        <translation>找到 1 条充电记录。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="445"/>
        <source>%1 sessions found; choose one.</source>
        <translation>找到 %1 条充电记录，请选择一条。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="495"/>
        <source>Find a session to check its bill.</source>
        <translation>查找充电记录以核对其账单。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="515"/>
        <source>%1 × %2 s</source>
        <translation>%1 × %2 s</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="521"/>
        <source>%1 (and %2 more entries with this ID)</source>
        <translation>%1（另有 %2 条同编号记录）</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="537"/>
        <source>no bill in the log</source>
        <translation>账本中无账单</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="552"/>
        <source>(differs from the tariff in force: %1)</source>
        <translation>（与执行电价 %1 不一致）</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="561"/>
        <source>No posted tariff covers this session's start.</source>
        <translation>该充电记录开始时刻无适用的公示电价。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="570"/>
        <source>Tariff %1 of station %2, valid from %3 (log entry %4); times are Hangzhou time.</source>
        <translation>充电站 %2 的电价 %1，自 %3 起执行（账本条目 %4）；时间均为杭州时间。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="610"/>
        <source>No bill for this session in the log.</source>
        <translation>账本中没有该充电记录的账单。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="612"/>
        <source>No posted tariff: the bill cannot be checked.</source>
        <translation>无公示电价，无法核对账单。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="615"/>
        <source>Overbilled by %1: charged %2, fair amount %3.</source>
        <translation>多收 %1：实收 %2，应付 %3。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="622"/>
        <source>Charged %1 less than the fair amount.</source>
        <translation>比应付金额少收 %1。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="625"/>
        <source>The bill matches the fair amount (%1).</source>
        <translation>账单金额与应付金额一致（%1）。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="640"/>
        <source>Verified at sync (meter key %1, operator key %2).</source>
        <translation>同步时已验证（电能表密钥 %1，运营商密钥 %2）。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="664"/>
        <source>Inclusion proofs are not available offline.</source>
        <translation>离线时无法获取包含证明。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="667"/>
        <source>Proofs are fetched from the log on request.</source>
        <translation>包含证明按需从账本获取。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="677"/>
        <source>Fetching proofs…</source>
        <translation>正在获取包含证明…</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="690"/>
        <source>Proof failed: %1</source>
        <translation>包含证明获取失败：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="701"/>
        <source>verified</source>
        <translation>已验证</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="701"/>
        <source>FAILED</source>
        <translation>验证失败</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="703"/>
        <source>Entry %1: %2</source>
        <translation>条目 %1：%2</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="709"/>
        <source>All inclusion proofs verify against the checkpoint.</source>
        <translation>所有包含证明均与检查点一致，验证通过。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="712"/>
        <source>An inclusion proof does not verify.</source>
        <translation>有包含证明未通过验证。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="116"/>
        <location filename="../../app/views/session_lookup.py" line="192"/>
        <location filename="../../app/views/session_lookup.py" line="251"/>
        <source>Session ID</source>
        <translation>充电记录编号</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="116"/>
        <location filename="../../app/views/session_lookup.py" line="253"/>
        <source>Pile</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="254"/>
        <source>Station</source>
        <translation>充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="506"/>
        <location filename="../../app/views/session_lookup.py" line="633"/>
        <location filename="../../app/views/session_lookup.py" line="642"/>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="116"/>
        <location filename="../../app/views/session_lookup.py" line="258"/>
        <source>Stop</source>
        <translation>结束</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="166"/>
        <source>Pile ID</source>
        <translation>充电桩编号</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="318"/>
        <source>Fair amount: the metered energy split across time-of-use periods by the meter's power profile, priced at the posted energy and service prices, each fee rounded half up to the fen.</source>
        <translation>应付金额：按电能表功率曲线将计量电量分摊到各分时段，按公示的电费单价和服务费单价计价，电费和服务费分别四舍五入到分。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="636"/>
        <source>Metering record: verified at sync (meter key %1). There is no bill to check.</source>
        <translation>计量记录：同步时已验证（电能表密钥 %1）。没有可核对的账单。</translation>
    </message>
    <message>
        <location filename="../../app/views/session_lookup.py" line="645"/>
        <source>This store only holds log entries whose signatures and inclusion in a signed checkpoint the sync verified; it does not re-check them here.</source>
        <translation>本地库只保存同步时已验证签名、且已验证包含于签名检查点的账本条目；此处不再重复验证。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../app/settings_dialog.py" line="97"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="100"/>
        <source>empty: run the built-in demo platform</source>
        <translation>留空：运行内置演示平台</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="109"/>
        <source>empty: local SQLite; or postgresql+psycopg://user@host/db</source>
        <translation>留空：本地 SQLite；或 postgresql+psycopg://user@host/db</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="117"/>
        <source>Platform URL</source>
        <translation>平台地址</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="118"/>
        <source>Log verifier key</source>
        <translation>账本验证公钥</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="120"/>
        <source>Database URL</source>
        <translation>数据库地址</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="121"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="125"/>
        <source>Changes take effect after restarting the workstation.</source>
        <translation>更改在重启工作站后生效。</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="171"/>
        <source>Alarm policy</source>
        <translation>告警策略</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="184"/>
        <source>Default: opens an alarm</source>
        <translation>默认:产生告警</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="184"/>
        <source>Default: finding only</source>
        <translation>默认:仅记录异常</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="186"/>
        <source>Always opens an alarm</source>
        <translation>始终产生告警</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="187"/>
        <source>Never opens an alarm</source>
        <translation>从不产生告警</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="198"/>
        <source>Stored in the shared database: every workstation of the office applies it.</source>
        <translation>保存在共享数据库中:本单位所有工作站均按此执行。</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="200"/>
        <source>Only a regulator can change the alarm policy.</source>
        <translation>只有监管人员可以更改告警策略。</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="239"/>
        <source>The alarm policy was not saved: %1</source>
        <translation>告警策略未保存:%1</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="105"/>
        <source>empty: the log's signature suffices; or a witness policy file (k of n)</source>
        <translation>留空:仅凭日志签名;或填写见证策略文件(n 个见证方中至少 k 个联署)</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="119"/>
        <source>Witness policy</source>
        <translation>见证策略</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="64"/>
        <source>Follow a signed log list (instead of one platform)</source>
        <translation>跟随已签名日志清单（代替单一平台）</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="69"/>
        <source>a file or an https:// URL of the signed list</source>
        <translation>已签名清单的文件或 https:// 网址</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="72"/>
        <source>the authority's verifier key (name+hash+base64), or a file holding it</source>
        <translation>主管机关的验证公钥（名称+哈希+base64），或保存它的文件</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="75"/>
        <source>e.g. 3301 (Hangzhou); empty: every region</source>
        <translation>例如 3301（杭州）；留空：所有辖区</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="83"/>
        <source>Log list</source>
        <translation>日志清单</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="84"/>
        <source>List authority key</source>
        <translation>清单公钥</translation>
    </message>
    <message>
        <location filename="../../app/settings_dialog.py" line="85"/>
        <source>Region code</source>
        <translation>辖区代码</translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <location filename="../../app/views/sign_in.py" line="86"/>
        <location filename="../../app/views/sign_in.py" line="90"/>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="87"/>
        <source>Sign in to the charging-pile metrology workstation</source>
        <translation>登录充电桩计量监管工作站</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="88"/>
        <location filename="../../app/views/sign_in.py" line="123"/>
        <source>User name</source>
        <translation>用户名</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="89"/>
        <location filename="../../app/views/sign_in.py" line="125"/>
        <source>Password</source>
        <translation>密码</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="105"/>
        <source>Unknown user name or wrong password</source>
        <translation>用户名不存在或密码错误</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="113"/>
        <source>Create administrator</source>
        <translation>创建管理员</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="124"/>
        <source>Full name</source>
        <translation>姓名</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="126"/>
        <source>Repeat password</source>
        <translation>确认密码</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="133"/>
        <source>The two passwords differ</source>
        <translation>两次输入的密码不一致</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="116"/>
        <source>This workstation has no users yet. Create the administrator account; the administrator then creates the regulators and inspectors.</source>
        <translation>本工作站尚无用户。请先创建管理员账户，再由管理员创建监管人员和检定员账户。</translation>
    </message>
    <message>
        <location filename="../../app/views/sign_in.py" line="128"/>
        <source>Create</source>
        <translation>创建</translation>
    </message>
</context>
<context>
    <name>TaxiDetailView</name>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="77"/>
        <source>Evidence</source>
        <translation>证据</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="122"/>
        <source>Inspector</source>
        <translation>检定员</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="120"/>
        <source>Result</source>
        <translation>结论</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="75"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="78"/>
        <source>Maker / model</source>
        <translation>制造商 / 型号</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="116"/>
        <source>Certificate</source>
        <translation>证书</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="85"/>
        <source>:</source>
        <translation>：</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="51"/>
        <source>first</source>
        <translation>首次</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="51"/>
        <source>periodic</source>
        <translation>周期</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="51"/>
        <source>triggered</source>
        <translation>触发</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="57"/>
        <source>roller</source>
        <translation>滚筒法</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="57"/>
        <source>road</source>
        <translation>路试法</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="68"/>
        <source>Taxi detail</source>
        <translation>出租车详情</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="85"/>
        <source>No taxi selected</source>
        <translation>未选择出租车</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="74"/>
        <source>Taxi company</source>
        <translation>出租汽车公司</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="76"/>
        <source>Meter serial</source>
        <translation>计价器编号</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="79"/>
        <source>Median drift</source>
        <translation>里程偏差中位数</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="80"/>
        <source>K constant (pulses/km)</source>
        <translation>K 常数（脉冲/km）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="81"/>
        <source>Valid until</source>
        <translation>有效期至</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="82"/>
        <source>In-vehicle terminal</source>
        <translation>车载终端</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="83"/>
        <source>Installed</source>
        <translation>安装日期</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="90"/>
        <source>(meter − GNSS) / GNSS, %</source>
        <translation>（计价器 − GNSS）/ GNSS，%</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="95"/>
        <source>JJG 517-2016: −4 % … +1 %</source>
        <translation>JJG 517-2016：−4 % … +1 %</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="105"/>
        <source>Trip</source>
        <translation>营运行程</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="106"/>
        <source>Median judged by the status rule</source>
        <translation>状态规则判定的中位数</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="115"/>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="117"/>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="118"/>
        <source>Method</source>
        <translation>方法</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="119"/>
        <source>Distance error %</source>
        <translation>里程误差 %</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="121"/>
        <source>Next due</source>
        <translation>下次检定</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="134"/>
        <source>Status history</source>
        <translation>状态历史</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="139"/>
        <source>Verification history (JJG 517-2016)</source>
        <translation>检定历史（JJG 517-2016）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="160"/>
        <source>%1 — loading…</source>
        <translation>%1 — 加载中…</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="166"/>
        <source>%1: not in the store</source>
        <translation>%1：本地库中没有</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="188"/>
        <source>n/a</source>
        <translation>无</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="190"/>
        <source>%1 % over %2 trips</source>
        <translation>%1 %（%2 次营运）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="212"/>
        <source>%1 trips with the monitoring platform's GNSS distance; as of %2 (UTC+8)</source>
        <translation>%1 次营运有监控平台的 GNSS 里程；截至 %2（UTC+8）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="220"/>
        <source>entry %1: %2 %3</source>
        <translation>条目 %1：%2 %3</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_detail.py" line="226"/>
        <source>now: %1 (%2)</source>
        <translation>当前：%1（%2）</translation>
    </message>
</context>
<context>
    <name>TaxiVerificationWizard</name>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="117"/>
        <source>Verification</source>
        <translation>检定类别</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="160"/>
        <source>2. Checks before the error test</source>
        <translation>2. 误差检定前检查</translation>
    </message>
    <message>
        <source>All conform</source>
        <translation type="vanished">全部符合</translation>
    </message>
    <message>
        <source>Number of the seal applied after verification</source>
        <translation type="vanished">检定后加封的封印编号</translation>
    </message>
    <message>
        <source>Seal number</source>
        <translation type="vanished">封印编号</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="182"/>
        <source>Run</source>
        <translation>项目</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="178"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="348"/>
        <source>Check the figures; sign, then save the certificate or notice.</source>
        <translation>核对数据；签名后保存检定证书或检定结果通知书。</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="182"/>
        <source>Standard</source>
        <translation>标准值</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="395"/>
        <source>— (failed)</source>
        <translation>—（不合格）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="406"/>
        <source>Check failed: %1</source>
        <translation>检查不符合：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="451"/>
        <source>Certificate saved to %1</source>
        <translation>证书已保存到 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="182"/>
        <source>Meter</source>
        <translation>计价器示值</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="68"/>
        <source>Appearance and structure intact, no damage (§6.1)</source>
        <translation>外观与结构完好，无损伤（§6.1）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="69"/>
        <source>Nameplate complete: maker, model, serial, K constant (§6.2)</source>
        <translation>铭牌完整：制造单位、型号、出厂编号、K 常数（§6.2）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="70"/>
        <source>Display legible: fare, distance, waiting time, unit price (§6.3)</source>
        <translation>显示屏清晰：金额、里程、等候时间、单价（§6.3）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="71"/>
        <source>Distance sensor and its cable sealed and undamaged (§6.4)</source>
        <translation>里程测量传感器及其连线已加封、无损伤（§6.4）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="72"/>
        <source>For-hire / hired switch works (§6.5)</source>
        <translation>空重车转换装置工作正常（§6.5）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="73"/>
        <source>Real-time clock correct (§6.6)</source>
        <translation>永久（实时）时钟准确（§6.6）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="74"/>
        <source>Receipt prints: plate, time, distance, waiting time, fare</source>
        <translation>票据打印正常：车牌、时间、里程、等候时间、金额</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="75"/>
        <source>Seals intact before the test</source>
        <translation>检定前封印完好</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="89"/>
        <source>1. Taxi and meter</source>
        <translation>1. 出租汽车与计价器</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="90"/>
        <source>Pick the taxi or type its plate, meter serial and K constant.</source>
        <translation>选择出租汽车，或输入车牌号、计价器出厂编号和 K 常数。</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="99"/>
        <source> pulses/km</source>
        <translation> 脉冲/km</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="100"/>
        <source>Roller bench (滚轮测距法)</source>
        <translation>滚轮测距法（滚筒检定装置）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="101"/>
        <source>Road course (行车测距法)</source>
        <translation>行车测距法（标准路段）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="111"/>
        <source>Plate</source>
        <translation>车牌号</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="112"/>
        <source>Meter serial</source>
        <translation>计价器出厂编号</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="113"/>
        <source>Model</source>
        <translation>型号</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="114"/>
        <source>K constant</source>
        <translation>计价器常数 K</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="115"/>
        <source>Method</source>
        <translation>检定方法</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="161"/>
        <source>Tick every item that conforms; an unticked item fails the meter.</source>
        <translation>勾选每一项符合的项目；未勾选项判计价器不合格。</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="170"/>
        <source>3. Readings</source>
        <translation>3. 读数</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="172"/>
        <source>Type the standard's and the meter's readings, or measure on the standard.</source>
        <translation>输入标准器和计价器的读数，或在标准器上测量。</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="175"/>
        <source>Serial port of the standard, e.g. /dev/ttyUSB0</source>
        <translation>标准器串口，例如 /dev/ttyUSB0</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="176"/>
        <source>Measure on the standard</source>
        <translation>在标准器上测量</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="182"/>
        <source>Error %</source>
        <translation>误差 %</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="191"/>
        <source>Standard port</source>
        <translation>标准器串口</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="212"/>
        <source>Distance %1 (m)</source>
        <translation>计程 %1（m）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="214"/>
        <source>Waiting time (s)</source>
        <translation>计时（s）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="292"/>
        <source>Enter the standard's serial port first.</source>
        <translation>请先输入标准器串口。</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="316"/>
        <source>Measuring on the standard…</source>
        <translation>正在标准器上测量……</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="326"/>
        <source>Measured on %1.</source>
        <translation>已在 %1 上测量。</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="347"/>
        <source>4. Verdict</source>
        <translation>4. 结论</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="391"/>
        <source>Distance error %1 %, waiting-time error %2 %</source>
        <translation>计程误差 %1 %，计时误差 %2 %</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="394"/>
        <source>Certificate valid until %1</source>
        <translation>证书有效期至 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="410"/>
        <source>Waiting time: error %1 beyond the limit</source>
        <translation>计时：误差 %1 超出限值</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="414"/>
        <source>Distance run %1: error %2 outside −4 % … +1 %</source>
        <translation>计程 %1：误差 %2 超出 −4 % ～ +1 %</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/verification_wizard.py" line="475"/>
        <source>Taximeter verification</source>
        <translation>出租汽车计价器检定</translation>
    </message>
</context>
<context>
    <name>TaxiView</name>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="83"/>
        <source>Verification</source>
        <translation>检定</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="69"/>
        <source>Valid</source>
        <translation>有效</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="146"/>
        <location filename="../../app/views/taxi/taxi_view.py" line="161"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="133"/>
        <source>All statuses</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="93"/>
        <source>opened</source>
        <translation>已开启</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="95"/>
        <source>tampered</source>
        <translation>被破坏</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="70"/>
        <source>Expiring</source>
        <translation>即将到期</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="71"/>
        <source>Expired</source>
        <translation>已过期</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="72"/>
        <source>Failed verification</source>
        <translation>检定不合格</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="73"/>
        <source>Seal broken</source>
        <translation>铅封破坏</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="74"/>
        <source>Drift suspected</source>
        <translation>疑似漂移</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="75"/>
        <source>Unverified</source>
        <translation>未检定</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="81"/>
        <source>Vehicle registered</source>
        <translation>车辆登记</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="82"/>
        <source>Meter installed</source>
        <translation>计价器安装</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="84"/>
        <source>Seal event</source>
        <translation>铅封事件</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="91"/>
        <source>pass</source>
        <translation>合格</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="92"/>
        <source>fail</source>
        <translation>不合格</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="94"/>
        <source>closed</source>
        <translation>已关闭</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="137"/>
        <location filename="../../app/views/taxi/taxi_view.py" line="219"/>
        <source>All companies</source>
        <translation>全部公司</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="138"/>
        <source>Expiring soon (≤ 30 days)</source>
        <translation>即将到期（≤ 30 天）</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="148"/>
        <location filename="../../app/views/taxi/taxi_view.py" line="159"/>
        <source>Company</source>
        <translation>出租汽车公司</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="158"/>
        <source>Plate</source>
        <translation>车牌号</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="160"/>
        <source>Meter serial</source>
        <translation>计价器编号</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="162"/>
        <source>Next due</source>
        <translation>下次检定</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="163"/>
        <source>Drift %</source>
        <translation>漂移 %</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="175"/>
        <source>Select a taxi to see its trips' drift</source>
        <translation>选择一辆出租车，查看其营运里程漂移</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="178"/>
        <source>(meter − GNSS) / GNSS, %</source>
        <translation>（计价器 − GNSS）/ GNSS，%</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="198"/>
        <source>Status history</source>
        <translation>状态历史</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="240"/>
        <source>%1: %2</source>
        <translation>%1：%2</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="244"/>
        <source>Taxis shown: %1</source>
        <translation>显示出租车：%1 辆</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="292"/>
        <source>%1 — meter %2 — %3</source>
        <translation>%1 — 计价器 %2 — %3</translation>
    </message>
    <message>
        <location filename="../../app/views/taxi/taxi_view.py" line="319"/>
        <source>entry %1: %2 %3</source>
        <translation>条目 %1：%2 %3</translation>
    </message>
</context>
<context>
    <name>VerificationWizard</name>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="89"/>
        <source>Nameplate and markings complete (model, serial, class, constant)</source>
        <translation>铭牌和标志完整（型号、编号、准确度等级、常数）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="90"/>
        <source>Housing, connector and cable undamaged</source>
        <translation>外壳、连接器及电缆无损伤</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="91"/>
        <source>Display shows energy, amount and time legibly</source>
        <translation>显示电能、金额、时间清晰</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="92"/>
        <source>Metrological seals intact</source>
        <translation>计量铅封完好</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="93"/>
        <source>Energy pulse output and test terminals accessible</source>
        <translation>电能脉冲输出及试验端子可用</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="94"/>
        <source>Meter communication (RS-485) port works</source>
        <translation>电能表通信（RS-485）接口正常</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="105"/>
        <source>Enter the amount (yuan) the pile displays for the energy just registered</source>
        <translation>输入充电桩对刚计入的电量显示的金额（元）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="114"/>
        <source>Working error at %1 (%2 A)</source>
        <translation>%1 工作误差（%2 A）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="119"/>
        <source>Connecting to the rig</source>
        <translation>正在连接检定装置</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="120"/>
        <source>Appearance and function checks</source>
        <translation>外观及功能检查</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="121"/>
        <source>Reading the electronic seal</source>
        <translation>正在读取电子铅封</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="122"/>
        <source>Measuring insulation resistance</source>
        <translation>正在测量绝缘电阻</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="123"/>
        <source>Waiting for the wiring confirmation</source>
        <translation>等待确认接线</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="124"/>
        <source>Switching the sources off</source>
        <translation>正在关闭电压、电流输出</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="125"/>
        <source>Reading the meter clock</source>
        <translation>正在读取电能表时钟</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="126"/>
        <source>Payment amount check</source>
        <translation>付费金额检查</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="127"/>
        <source>Finished</source>
        <translation>完成</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="63"/>
        <source>First verification</source>
        <translation>首次检定</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="64"/>
        <source>Periodic verification</source>
        <translation>周期检定</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="65"/>
        <source>Triggered re-verification</source>
        <translation>异常复检</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="135"/>
        <source>Pass</source>
        <translation>合格</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="135"/>
        <source>Fail</source>
        <translation>不合格</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="150"/>
        <source>Appearance and function: %1</source>
        <translation>外观及功能：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="144"/>
        <source>Insulation below 5 MΩ: the pile was not energised</source>
        <translation>绝缘电阻低于 5 MΩ：未对充电桩通电</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="153"/>
        <source>%1: not measured</source>
        <translation>%1：未检</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="156"/>
        <source>%1: error %2 % exceeds ±%3 %</source>
        <translation>%1：误差 %2 % 超出 ±%3 %</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="162"/>
        <source>Meter clock not read</source>
        <translation>未读取电能表时钟</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="165"/>
        <source>Clock error %1 s exceeds ±%2 s</source>
        <translation>时钟误差 %1 s 超出 ±%2 s</translation>
    </message>
    <message>
        <source>Payment amount error %1 yuan exceeds ±0.01 yuan</source>
        <translation type="vanished">付费金额误差 %1 元，超出 ±0.01 元</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="186"/>
        <source>1. Pile</source>
        <translation>1. 充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="187"/>
        <source>Choose the pile from today's tasks, or type or scan its ID.</source>
        <translation>从今日任务中选择充电桩，或输入、扫描其编号。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="198"/>
        <source>Pile ID, e.g. HZ-P000123</source>
        <translation>充电桩编号，如 HZ-P000123</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="212"/>
        <source>Meter</source>
        <translation>电能表</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="214"/>
        <source>Rating</source>
        <translation>额定值</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="215"/>
        <source>Accuracy class</source>
        <translation>准确度等级</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="216"/>
        <source>Meter constant</source>
        <translation>电能表常数</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="217"/>
        <source>Regulation</source>
        <translation>检定规程</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="226"/>
        <source>Task list</source>
        <translation>任务清单</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="231"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="983"/>
        <source>Verification</source>
        <translation>检定类别</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="235"/>
        <source>Nameplate</source>
        <translation>铭牌</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="250"/>
        <source>Not in the task list</source>
        <translation>不在任务清单中</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="296"/>
        <source>2. Pre-checks</source>
        <translation>2. 预检查</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="298"/>
        <source>Inspect the pile and answer every item. The time plan below is rig time.</source>
        <translation>检查充电桩并逐项作答。下方时间计划按检定装置用时计算。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="306"/>
        <source>Conforms</source>
        <translation>符合</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="307"/>
        <source>Does not conform</source>
        <translation>不符合</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="315"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="987"/>
        <source>Appearance and function</source>
        <translation>外观及功能</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="344"/>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="344"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="632"/>
        <source>Rig time (s)</source>
        <translation>装置用时 (s)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="349"/>
        <source>Time plan</source>
        <translation>时间计划</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="366"/>
        <source>Connect, reset, self-test, configure</source>
        <translation>连接、复位、自检、配置</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="367"/>
        <source>Insulation resistance</source>
        <translation>绝缘电阻</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="369"/>
        <source>Sources off</source>
        <translation>关闭输出</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="370"/>
        <source>Meter clock (DL/T 645)</source>
        <translation>电能表时钟（DL/T 645）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="371"/>
        <source>Meter register for the payment check</source>
        <translation>付费金额检查用电能表示值</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="377"/>
        <source>Total %1 s of rig time (target %2 s)</source>
        <translation>装置用时共 %1 s（目标 %2 s）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="382"/>
        <source>— over the 10-minute target</source>
        <translation>— 超出 10 分钟目标</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="435"/>
        <source>3. Connect the rig</source>
        <translation>3. 连接检定装置</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="437"/>
        <source>Plug the rig into USB. It is detected automatically; you can also type a port.</source>
        <translation>将检定装置接入 USB，系统自动识别；也可手动输入端口。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="445"/>
        <source>Detect again</source>
        <translation>重新检测</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="455"/>
        <source>Rig port</source>
        <translation>装置端口</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="457"/>
        <source>Journal</source>
        <translation>运行记录</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="484"/>
        <source>Start verification</source>
        <translation>开始检定</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="492"/>
        <source>(unfinished run found: it will be resumed)</source>
        <translation>（发现未完成的检定，将继续进行）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="497"/>
        <source>Searching for rigs…</source>
        <translation>正在搜索检定装置…</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="509"/>
        <source>Found %1 on %2</source>
        <translation>在 %2 上找到 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="512"/>
        <source>No rig found. Check the USB cable or type the port.</source>
        <translation>未找到检定装置。请检查 USB 线缆或手动输入端口。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="547"/>
        <source>4. Measurement</source>
        <translation>4. 测量</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="548"/>
        <source>Keep the leads connected. The run pauses if the rig is unplugged.</source>
        <translation>请保持测试线连接。检定装置断开时检定将暂停。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="571"/>
        <source>Time left</source>
        <translation>剩余时间</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="584"/>
        <source>OK</source>
        <translation>确定</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="585"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="885"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="601"/>
        <source>Rig disconnected. Plug the USB cable back in: the run resumes by itself.</source>
        <translation>检定装置已断开。重新插上 USB 线缆后检定将自动继续。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="605"/>
        <source>or type the new port</source>
        <translation>或输入新端口</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="607"/>
        <source>Reconnect</source>
        <translation>重新连接</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="621"/>
        <source>Voltage (V)</source>
        <translation>电压 (V)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="622"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="647"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="973"/>
        <source>Current (A)</source>
        <translation>电流 (A)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="624"/>
        <source>Running error (%)</source>
        <translation>实时误差 (%)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="647"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="973"/>
        <source>Point</source>
        <translation>负载点</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="647"/>
        <source>Reading 1 (%)</source>
        <translation>读数1 (%)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="647"/>
        <source>Reading 2 (%)</source>
        <translation>读数2 (%)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="648"/>
        <source>Mean (%)</source>
        <translation>平均值 (%)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="648"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="973"/>
        <source>Result</source>
        <translation>结论</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="657"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="985"/>
        <source>Insulation</source>
        <translation>绝缘电阻</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="658"/>
        <location filename="../../app/views/charging/verification_wizard.py" line="986"/>
        <source>Clock error</source>
        <translation>时钟误差</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="659"/>
        <source>Stream</source>
        <translation>数据流</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="664"/>
        <source>Load points</source>
        <translation>负载点</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="667"/>
        <source>Log</source>
        <translation>日志</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="763"/>
        <source>Stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="814"/>
        <source>%1 frames, %2 lost, %3 garbled</source>
        <translation>%1 帧，丢失 %2，错误 %3</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="839"/>
        <source>Reading %1 at %2: %3 %</source>
        <translation>%2 第 %1 次读数：%3 %</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="863"/>
        <source>%1 s (limit ±%2 s)</source>
        <translation>%1 s（限值 ±%2 s）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="870"/>
        <source>Rig disconnected: %1</source>
        <translation>检定装置已断开：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="874"/>
        <source>Reconnected to %1; resuming</source>
        <translation>已重新连接 %1，继续检定</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="885"/>
        <source>Skip</source>
        <translation>跳过</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="905"/>
        <source>Finished: %1</source>
        <translation>完成：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="913"/>
        <source>The run stopped with an error</source>
        <translation>检定因出错而中止</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="918"/>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="966"/>
        <source>5. Result</source>
        <translation>5. 结果</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="967"/>
        <source>Check the figures, then sign the result and issue the certificate.</source>
        <translation>核对数据后签署结果并出具检定证书。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="973"/>
        <source>Mean error (%)</source>
        <translation>平均误差 (%)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="984"/>
        <source>Standard (rig)</source>
        <translation>标准装置</translation>
    </message>
    <message>
        <source>Next verification due</source>
        <translation type="vanished">下次检定到期</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="989"/>
        <source>Interruptions</source>
        <translation>中断次数</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1012"/>
        <source>Passphrase of your signing key</source>
        <translation>签名密钥口令</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1015"/>
        <source>Create key with this passphrase</source>
        <translation>用此口令创建密钥</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1017"/>
        <source>Sign and queue for upload</source>
        <translation>签名并加入上传队列</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1019"/>
        <source>Save certificate PDF</source>
        <translation>保存证书 PDF</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1021"/>
        <source>Upload now</source>
        <translation>立即上传</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1035"/>
        <source>Inspector name</source>
        <translation>检定员姓名</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1036"/>
        <source>Signing key</source>
        <translation>签名密钥</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1037"/>
        <source>Passphrase</source>
        <translation>口令</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1043"/>
        <source>Sign, issue and upload</source>
        <translation>签名、出证并上传</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1082"/>
        <source>No key yet at %1</source>
        <translation>%1 处尚无密钥</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1095"/>
        <source>Key created (%1). Have its public key registered before uploading.</source>
        <translation>密钥已创建（%1）。上传前请先登记其公钥。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1108"/>
        <source>Enter your inspector ID first.</source>
        <translation>请先输入检定员编号。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1122"/>
        <source>Signed with key %1 and queued as %2.</source>
        <translation>已用密钥 %1 签名，并以 %2 加入上传队列。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1156"/>
        <source>Certificate saved to %1</source>
        <translation>证书已保存至 %1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1165"/>
        <source>Uploading…</source>
        <translation>正在上传…</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1176"/>
        <source>Uploaded: %1, already there: %2</source>
        <translation>已上传：%1，已存在：%2</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1181"/>
        <source>Kept %1: %2</source>
        <translation>%1 保留在队列中：%2</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1184"/>
        <source>Platform unreachable, entries stay queued: %1</source>
        <translation>无法连接平台，条目仍在队列中：%1</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1234"/>
        <source>All items conform</source>
        <translation>全部符合</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1267"/>
        <source>Pile verification</source>
        <translation>充电桩检定</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="982"/>
        <source>Pile</source>
        <translation>充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1034"/>
        <source>Inspector ID</source>
        <translation>检定员编号</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="210"/>
        <source>Station</source>
        <translation>充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="213"/>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="456"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="211"/>
        <source>Operator</source>
        <translation>运营商</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="623"/>
        <source>Power (kW)</source>
        <translation>功率 (kW)</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="567"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="230"/>
        <source>Pile ID</source>
        <translation>充电桩编号</translation>
    </message>
    <message>
        <source>Connect the rig: voltage and current leads to the meter, pulse lead to the meter's pulse output, RS-485 to the meter port. Start energising?</source>
        <translation type="vanished">连接检定装置：电压、电流测试线接电能表，脉冲线接电能表脉冲输出，RS-485 接电能表通信口。是否开始通电？</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="102"/>
        <source>Connect the rig to the gun under test: voltage and current leads to its meter, pulse lead to the meter's pulse output, RS-485 to the meter port. Start energising?</source>
        <translation>请将检定装置接到被检充电枪：电压、电流线接其电能表，脉冲线接电能表脉冲输出，RS-485 接电能表通信口。开始加电？</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="142"/>
        <source>Verification conditions not met: no error test, no notice</source>
        <translation>不满足检定条件：不进行误差测试，不出具通知书</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="146"/>
        <source>Ambient temperature or humidity outside the conditions</source>
        <translation>环境温度或湿度不满足检定条件</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="205"/>
        <source>A pile with several guns is verified gun by gun</source>
        <translation>多枪充电桩逐枪检定</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="218"/>
        <source>Guns</source>
        <translation>充电枪数</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="232"/>
        <source>Gun</source>
        <translation>充电枪</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="266"/>
        <source>(Imin not marked: Imax/10)</source>
        <translation>（未标注 Imin：按 Imax/10）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="328"/>
        <source>Number of the seal applied after verification</source>
        <translation>检定后加封的封印编号</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="329"/>
        <source>Verification conditions</source>
        <translation>检定条件</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="331"/>
        <source>Ambient temperature</source>
        <translation>环境温度</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="332"/>
        <source>Relative humidity</source>
        <translation>相对湿度</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="333"/>
        <source>Seal number</source>
        <translation>封印编号</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="368"/>
        <source>Reference standard and environment (conditions)</source>
        <translation>计量标准器及环境（检定条件）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="459"/>
        <source>Register the rig's certificate (only if the rig does not report it)</source>
        <translation>登记检定装置证书（仅当装置不能报告时）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="468"/>
        <source>DC (JJG 1192-2023)</source>
        <translation>直流（JJG 1192-2023）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="468"/>
        <source>AC (JJG 1193-2023)</source>
        <translation>交流（JJG 1193-2023）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="469"/>
        <source>AC and DC</source>
        <translation>交直流</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="474"/>
        <source>Certificate number</source>
        <translation>证书编号</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="475"/>
        <source>Valid until</source>
        <translation>有效期至</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="476"/>
        <source>Verified as</source>
        <translation>检定类别</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="477"/>
        <source>Class or uncertainty</source>
        <translation>准确度等级或不确定度</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="478"/>
        <source>Rig serial number</source>
        <translation>装置出厂编号</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="857"/>
        <source>%1 s (not judged: no time-of-use billing)</source>
        <translation>%1 s（无分时计费功能，不判定）</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="988"/>
        <source>Certificate valid until</source>
        <translation>证书有效期至</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1150"/>
        <source>Verification conditions not met: no certificate or notice is issued.</source>
        <translation>不满足检定条件：不出具检定证书或检定结果通知书。</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1197"/>
        <source>Verification conditions not met</source>
        <translation>不满足检定条件</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1224"/>
        <source>certificate %1, valid until %2</source>
        <translation>证书 %1，有效期至 %2</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1229"/>
        <source>gun %1</source>
        <translation>%1 号枪</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="172"/>
        <source>Optional check (JJG 1149-2018): payment amount error %1 yuan exceeds ±0.01 yuan</source>
        <translation>可选核查（JJG 1149-2018）：付费金额误差 %1 元，超过 ±0.01 元</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="1023"/>
        <source>Verify the next gun</source>
        <translation>检定下一把充电枪</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="338"/>
        <source>Not set in the office: printed as —</source>
        <translation>办公室未设置：打印为“—”</translation>
    </message>
    <message>
        <location filename="../../app/views/charging/verification_wizard.py" line="339"/>
        <source>Measurement standard approval certificate</source>
        <translation>计量标准考核证书编号</translation>
    </message>
</context>
<context>
    <name>VerificationWizardParts</name>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="246"/>
        <source>Inspector ID</source>
        <translation>检定员编号</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="251"/>
        <source>Sign and queue for upload</source>
        <translation>签名并排队上传</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="252"/>
        <source>Save certificate PDF</source>
        <translation>保存证书 PDF</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="247"/>
        <source>Inspector name</source>
        <translation>检定员姓名</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="248"/>
        <source>Passphrase</source>
        <translation>口令</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="291"/>
        <source>Enter your inspector ID first.</source>
        <translation>请先输入检定员编号。</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="302"/>
        <source>Signed with key %1 and queued as %2.</source>
        <translation>已用密钥 %1 签名，并以 %2 排队上传。</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="89"/>
        <source>PASS</source>
        <translation>合格</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="89"/>
        <source>FAIL</source>
        <translation>不合格</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="240"/>
        <source>Sign and issue</source>
        <translation>签名与出具</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="274"/>
        <source>Signs with the key in %1.</source>
        <translation>使用 %1 中的密钥签名。</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="276"/>
        <source>No key yet: signing creates one at %1, encrypted with this passphrase.</source>
        <translation>尚无密钥：签名时将在 %1 创建密钥，并用此口令加密。</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="307"/>
        <source>New key: have its public key registered before uploading.</source>
        <translation>新密钥：上传前请先登记其公钥。</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="209"/>
        <source>All conform</source>
        <translation>全部符合</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="212"/>
        <source>Number of the seal applied after verification</source>
        <translation>检定后加封的封印编号</translation>
    </message>
    <message>
        <location filename="../../app/views/wizard_parts.py" line="214"/>
        <source>Seal number</source>
        <translation>封印编号</translation>
    </message>
</context>
<context>
    <name>WorkOrdersView</name>
    <message>
        <location filename="../../app/views/work_orders.py" line="64"/>
        <source>Open</source>
        <translation>进行中</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="64"/>
        <source>Closed</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="64"/>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="71"/>
        <source>{h} h {m} min</source>
        <translation>{h} 小时 {m} 分钟</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="73"/>
        <source>{m} min</source>
        <translation>{m} 分钟</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="151"/>
        <source>No.</source>
        <translation>编号</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="152"/>
        <location filename="../../app/views/work_orders.py" line="400"/>
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="153"/>
        <location filename="../../app/views/work_orders.py" line="399"/>
        <source>Inspector</source>
        <translation>检定员</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="155"/>
        <source>Progress</source>
        <translation>进度</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="156"/>
        <source>Estimated time</source>
        <translation>预计用时</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="157"/>
        <source>Travel</source>
        <translation>路程</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="163"/>
        <source>#</source>
        <translation>序号</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="169"/>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>%v of %m piles verified</source>
        <translation type="vanished">已检定 %v / %m 个充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="181"/>
        <source>Take offline…</source>
        <translation>导出离线包…</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="184"/>
        <source>Upload results</source>
        <translation>上传结果</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="190"/>
        <source>Upload anyway</source>
        <translation>仍然上传</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="220"/>
        <source>All work orders</source>
        <translation>全部工单</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="220"/>
        <source>My work orders</source>
        <translation>我的工单</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="273"/>
        <source>Work order {id}: {title}</source>
        <translation>工单 {id}：{title}</translation>
    </message>
    <message>
        <source>Piles: {n} · estimated {time} (10 min per pile + {km} km at 30 km/h)</source>
        <translation type="vanished">充电桩：{n} 个 · 预计 {time}（每桩 10 分钟 + 路程 {km} km，按 30 km/h 计）</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="303"/>
        <source>Verified</source>
        <translation>已检定</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="321"/>
        <source>{n} uploaded</source>
        <translation>已上传 {n} 条</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="322"/>
        <source>{n} waiting</source>
        <translation>待上传 {n} 条</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="325"/>
        <source>platform unreachable</source>
        <translation>无法连接平台</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="327"/>
        <source>{n} refused</source>
        <translation>被拒绝 {n} 条</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="332"/>
        <source>work order {id}</source>
        <translation>工单 {id}</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="334"/>
        <source>no open work order</source>
        <translation>无进行中的工单</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="366"/>
        <source>Take work order offline</source>
        <translation>导出工单离线包</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="368"/>
        <source>Field package (*.sqlite)</source>
        <translation>现场离线包 (*.sqlite)</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="388"/>
        <source>New work order</source>
        <translation>新建工单</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="407"/>
        <source>Route (nearest station next):</source>
        <translation>路线（依次前往最近的站点）：</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="427"/>
        <source>{n}. {station} — {piles} (start)</source>
        <translation>{n}. {station} — {piles}（起点）</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="431"/>
        <source>{n}. {station} — {piles} (+{km} km)</source>
        <translation>{n}. {station} — {piles}（+{km} km）</translation>
    </message>
    <message>
        <source>Piles: {n} · estimated {time}</source>
        <translation type="vanished">充电桩：{n} 个 · 预计 {time}</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="451"/>
        <source>Choose an inspector</source>
        <translation>选择检定员</translation>
    </message>
    <message>
        <source>Pile</source>
        <translation type="vanished">充电桩</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="154"/>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Station</source>
        <translation type="vanished">充电站</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="168"/>
        <source>Due date</source>
        <translation>到期日</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="167"/>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="404"/>
        <source>Create</source>
        <translation>创建</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="338"/>
        <source>Pile {pile} was moved to {where} while you were offline: {vid} not uploaded</source>
        <translation>离线期间充电桩 {pile} 已调整（现属：{where}）：{vid} 未上传</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="165"/>
        <source>Instrument</source>
        <translation>计量器具</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="164"/>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="179"/>
        <source>%v of %m instruments verified</source>
        <translation>已检定 %v / %m 台</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="193"/>
        <source>Verify selected item…</source>
        <translation>检定所选项目…</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="196"/>
        <source>Opens the verification wizard of the item's kind with the item chosen</source>
        <translation>按所选项目的类别打开检定向导，并已选中该项目</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="275"/>
        <source>Items: {n} · estimated {time} (verification time + {km} km at 30 km/h)</source>
        <translation>项目：{n} · 预计 {time}（检定时间 + {km} 公里，按 30 公里/小时）</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="300"/>
        <source>Summon to the verification station</source>
        <translation>通知到检定站受检</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="437"/>
        <source>Summon to the verification station: {items}</source>
        <translation>通知到检定站受检：{items}</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="442"/>
        <source>Items: {n} · estimated {time}</source>
        <translation>项目：{n} · 预计 {time}</translation>
    </message>
    <message>
        <location filename="../../app/views/work_orders.py" line="166"/>
        <source>Site</source>
        <translation>站点</translation>
    </message>
</context>
</TS>
