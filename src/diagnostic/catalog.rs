//! The Chinese texts of the diagnostics, kept apart from the code that raises them:
//! what each code means ([`SUMMARIES`], one line per code, the authoring guide's list),
//! the Chinese form of each message ([`MESSAGES`]) and of each help and note line
//! ([`HINTS`]), and the phrases that appear inside them ([`TERMS`]).
//!
//! English templates use `{}` for a variable part; Chinese templates place the parts
//! with `{0}`, `{1}`, … (counted in the English order). Written for the policy staff
//! who fix rule files: say what is wrong and what to write instead, with the Chinese
//! keywords (`条件`, `得分`, …) in examples.
//!
//! A code raised anywhere must have a summary here (a test reads the sources to make
//! sure); a message without a template is shown as the code's summary followed by the
//! English text, so nothing is ever left untranslated.

/// One English template and its Chinese form; `code` is `*` for any code.
pub(crate) struct Entry {
    pub code: &'static str,
    pub en: &'static str,
    pub zh: &'static str,
}

const fn e(code: &'static str, en: &'static str, zh: &'static str) -> Entry {
    Entry { code, en, zh }
}

/// What each code means.
pub(crate) const SUMMARIES: &[(&str, &str)] = &[
    ("E0001", "语法错误"),
    ("E0002", "规则文件过大"),
    ("E0003", "嵌套过深"),
    ("E0004", "文件或目录无法读写"),
    (
        "E0005",
        "问题太多，未全部列出（或 Word 文件不能输出到终端）",
    ),
    ("W0005", "问题太多，未全部列出"),
    ("E0006", "检查超时"),
    ("E0010", "同一字段写了两次"),
    ("E0011", "日期不存在或写法不对"),
    ("E0012", "数字过大或过于精确"),
    ("E0013", "时间窗口过长"),
    ("E0014", "计分舍入的位数不对"),
    ("E0100", "文件头缺少必填项"),
    ("E0101", "查询渠道中的记录类别不存在"),
    ("E0102", "同一类别写在两个查询渠道中"),
    ("E0201", "名称不存在"),
    ("E0202", "值的类型不符"),
    ("E0203", "记录字段只能用在记录查询之内"),
    ("E0204", "记录查询不能嵌套"),
    ("E0205", "值可能缺失"),
    ("E0206", "汇总函数的写法不对"),
    ("E0207", "列表只能跟在“属于”之后"),
    ("E0208", "列表项必须是常量"),
    ("E0209", "除数为零"),
    ("E0210", "对照表的键重复"),
    ("E0213", "此处必须是常量"),
    ("E0220", "定义绕回了自身"),
    ("E0230", "函数的参数个数不对"),
    ("E0231", "舍入位数必须是 0 到 10 的整数常量"),
    ("E0232", "限定的下限高于上限"),
    ("E0233", "舍入没有写明舍入方式"),
    ("E0300", "规则集编号重复"),
    ("E0301", "继承关系成环"),
    ("E0302", "规则集不存在"),
    ("E0303", "常量名或条款编号重复"),
    ("E0307", "文件头声明的规则集编号不对"),
    ("E0304", "不能改写或删除强制条款"),
    ("E0305", "改写继承条款时类别不同"),
    ("E0306", "要删除的继承条款不存在"),
    ("E0310", "条款缺少条件或得分"),
    ("E0311", "字段用错了条款"),
    ("E0312", "评分项缺少上限"),
    ("E0314", "下限高于上限"),
    ("E0315", "权重必须大于零"),
    ("E0316", "上限或下限乘以权重超出可计算范围"),
    ("E0320", "各评分项上限之和与总分不符"),
    ("E0321", "各评分项分值之和超出可计算范围"),
    ("E0400", "测试缺少评价日期"),
    ("E0401", "测试中记录编号重复"),
    ("E0402", "测试预期的条款不存在"),
    ("E0403", "测试预期与条款类别不符"),
    ("E0500", "格式化无法保留注释"),
    ("E0501", "格式化会改变规则含义（程序缺陷）"),
    ("E0600", "规则集检查不通过"),
    ("E0700", "日期写法不对"),
    ("E0701", "记录文件不是合法的 JSON"),
    ("E0702", "记录不合法"),
    ("E0711", "版本文件属于另一个规则集"),
    ("E0712", "记录库无法打开"),
    ("E0713", "版本写法不对或版本不存在"),
    ("E0714", "统一社会信用代码不合法"),
    ("E0715", "被比较的版本检查不通过"),
    ("E0716", "分析中读取记录库失败"),
    ("E0800", "版本写法不对"),
    ("E0801", "记录库中没有该版本"),
    ("E0802", "记录库不存在或无法打开"),
    ("E0803", "该版本无法比较"),
    ("E0804", "无法输出 JSON（程序缺陷）"),
    ("T0001", "测试未通过"),
    ("W0100", "文件头未写责任单位"),
    ("W0101", "常量与继承的常量同名"),
    ("W0102", "条款没有表述"),
    ("W0103", "常量与字段、类别或严重程度同名"),
    ("W0104", "行业规则集中的“强制”只约束继承它的规则集"),
    ("W0105", "依据或表述中夹有工作说明"),
    ("W0110", "定义没有被使用"),
    ("W0106", "表述中的数字与规则不符"),
    ("W0201", "条件永不成立"),
    ("W0202", "条件对所有人成立"),
    ("W0203", "两条条款条件相同"),
    ("W0204", "多余的“默认”"),
    ("W0300", "测试说明重复"),
    ("W0501", "只对特定机关或特定行业的表彰奖励加分"),
    ("E0502", "把表彰奖励作为投标条件（否决）"),
    ("W0503", "把信用等级（信用评价结果）作为投标条件（否决）"),
    ("W0504", "仅因列入经营异常名录即否决"),
    ("W0505", "仅因一起轻微行政处罚即否决"),
    ("E0506", "期限已届满的禁止投标记录仍否决"),
    ("W0507", "否决或扣分计入已过公示期或已信用修复的记录"),
    ("E0508", "表述以注册地、所在地或所有制设条件"),
    ("W0509", "表述以企业规模设条件"),
    ("E0510", "“允许”只能用于合法性提示（W05xx），不能用于错误"),
    ("W0511", "“允许”没有抑制任何提示"),
    ("E0512", "“允许”没有写理由"),
];

/// Messages.
pub(crate) const MESSAGES: &[Entry] = &[
    // Syntax.
    e(
        "E0001",
        "expected {}, found `{}`",
        "此处应为{0}，实际写的是 `{1}`",
    ),
    e(
        "E0001",
        "expected {}, found the end of the file",
        "此处应为{0}，但文件已经结束",
    ),
    e(
        "E0001",
        "the {} `{}` (line {}) is not closed: its `}` is missing",
        "{0} `{1}`（第 {2} 行）缺少结尾的 `}`",
    ),
    e(
        "E0002",
        "rule file is {} bytes, more than the limit of {} bytes",
        "规则文件有 {0} 字节，超过了 {1} 字节的上限",
    ),
    e(
        "E0003",
        "nesting deeper than {} levels",
        "括号或“如果”嵌套超过 {0} 层",
    ),
    e(
        "E0003",
        "more than {} `not` or `-` in a row",
        "连续写了超过 {0} 个“非”或负号",
    ),
    e(
        "E0003",
        "expression nested deeper than {} levels",
        "表达式嵌套超过 {0} 层",
    ),
    e("E0004", "cannot read `{}`: {}", "无法读取 `{0}`：{1}"),
    e("E0004", "cannot write `{}`: {}", "无法写入 `{0}`：{1}"),
    e(
        "E0004",
        "cannot write to standard output: {}",
        "无法写到标准输出：{0}",
    ),
    e(
        "E0005",
        "{} more problems not shown ({} error(s), {} warning(s))",
        "另有 {0} 个问题未列出（{1} 个错误，{2} 个警告）",
    ),
    e(
        "W0005",
        "{} more problems not shown ({} error(s), {} warning(s))",
        "另有 {0} 个问题未列出（{1} 个错误，{2} 个警告）",
    ),
    e(
        "E0005",
        "a Word file is not written to a terminal",
        "Word 文件不能直接输出到终端",
    ),
    e(
        "E0006",
        "checking stopped: the time allowed for it ran out",
        "检查超时，已停止",
    ),
    e("E0010", "`{}` is given twice", "`{0}` 写了两次"),
    e(
        "E0011",
        "`{}` is not a real date",
        "`{0}` 不是一个真实存在的日期",
    ),
    e(
        "E0011",
        "`{}` is not a date in the form YYYY-MM-DD",
        "`{0}` 不是“年-月-日”（YYYY-MM-DD）格式的日期",
    ),
    e(
        "E0012",
        "the number `{}` is too large or too precise",
        "数字 `{0}` 过大或小数位过多",
    ),
    e(
        "E0013",
        "the duration `{}` is too long",
        "时间窗口 `{0}` 过长",
    ),
    // Header.
    e("E0100", "the header has no `{}`", "文件头缺少 `{0}`"),
    e(
        "E0101",
        "unknown record kind `{}` in `query_channel`",
        "查询渠道中的记录类别 `{0}` 不存在",
    ),
    e(
        "E0102",
        "the record kind `{}` is given two query channels",
        "记录类别 `{0}` 写在了两个查询渠道中",
    ),
    e(
        "W0100",
        "the header names no responsible unit",
        "文件头没有写责任单位",
    ),
    e(
        "W0105",
        "the {} of {} says `{}`, which reads like a working note",
        "{1}的{0}中有“{2}”，看起来是工作说明",
    ),
    // Names and types.
    e("E0201", "unknown {} `{}`", "未知的{0} `{1}`"),
    e(
        "E0201",
        "`{}` is not a number constant",
        "`{0}` 不是数值常量",
    ),
    e(
        "E0202",
        "{} must be {}, but this is {}",
        "{0}应当是{1}，这里却是{2}",
    ),
    e(
        "E0202",
        "{} needs {}, but this is {}",
        "{0}需要{1}，这里却是{2}",
    ),
    e("E0202", "cannot compare {} with {}", "不能拿{0}与{1}比较"),
    e("E0202", "`{}` cannot order {}", "`{0}` 不能比较{1}的大小"),
    e(
        "E0202",
        "cannot apply `{}` to {} and {}",
        "`{0}` 不能用于{1}和{2}",
    ),
    e(
        "E0202",
        "the list holds {} but is compared with {}",
        "列表中是{0}，却与{1}比较",
    ),
    e(
        "E0202",
        "the `then` branch is {} but the `else` branch is {}",
        "“则”之后是{0}，“否则”之后却是{1}",
    ),
    e(
        "E0202",
        "this key is {} but the table looks up {}",
        "这个键是{0}，对照表查的却是{1}",
    ),
    e("E0202", "`{}` cannot work on {}", "`{0}` 不能用于{1}"),
    e(
        "E0203",
        "the record field `{}` can only be used inside a record query",
        "记录字段 `{0}` 只能写在记录查询（`记录 满足 …`）之内",
    ),
    e(
        "E0203",
        "`within` can only be used inside a record query",
        "“近”（within）只能写在记录查询（`记录 满足 …`）之内",
    ),
    e(
        "E0204",
        "a record query cannot be used inside another record query",
        "记录查询不能写在另一个记录查询之内",
    ),
    e("E0205", "{} may be missing here", "{0}在这里可能缺失"),
    e(
        "E0206",
        "`{}` takes no value after the query",
        "`{0}` 在查询之后不需要再写值",
    ),
    e(
        "E0206",
        "`{}` needs the value to compute, after a comma",
        "`{0}` 需要在逗号后写出要计算的值",
    ),
    e(
        "E0207",
        "a list can only follow `in`",
        "列表只能跟在“属于”（in）之后",
    ),
    e(
        "E0207",
        "the list `{}` can only follow `in`",
        "列表 `{0}` 只能跟在“属于”（in）之后",
    ),
    e(
        "E0207",
        "`in` needs a list, but `{}` is not a list constant",
        "“属于”之后需要列表，但 `{0}` 不是列表常量",
    ),
    e("E0207", "`in` needs a list", "“属于”（in）之后需要一个列表"),
    e(
        "E0208",
        "list items must be constant values",
        "列表中的每一项都必须是常量",
    ),
    e("E0209", "division by zero", "除数为零"),
    e(
        "E0210",
        "the key {} appears twice",
        "对照表中键 {0} 出现了两次",
    ),
    e("E0213", "this value must be a constant", "这里必须是常量"),
    e(
        "E0014",
        "cannot round to `{}` decimal places",
        "不能舍入到 `{0}` 位小数",
    ),
    e(
        "E0230",
        "`{}` needs at least two values, but is given {}",
        "“{0}”至少需要两个值，这里只给了 {1} 个",
    ),
    e(
        "E0230",
        "`clamp` needs three values (x, lo, hi), but is given {}",
        "“限定”（clamp）需要三个值（值、下限、上限），这里给了 {0} 个",
    ),
    e(
        "E0231",
        "the places of `round` must be a whole number from 0 to {}",
        "“舍入”（round）的位数必须是 0 到 {0} 的整数",
    ),
    e(
        "E0233",
        "`round` needs its rounding mode named",
        "“舍入”（round）必须写明舍入方式",
    ),
    e(
        "E0232",
        "the lower bound {} of `clamp` is above its upper bound {}",
        "“限定”（clamp）的下限 {0} 高于上限 {1}",
    ),
    e(
        "E0202",
        "the values of `{}` are {} and {}",
        "“{0}”的各值应当同类，这里却有{1}和{2}",
    ),
    e(
        "E0220",
        "the definition `{}` uses itself ({})",
        "定义 `{0}` 绕回了自身（{1}）",
    ),
    e(
        "E0204",
        "`{}` reads records, so it cannot be used inside a record query",
        "`{0}` 要读取记录，不能写在记录查询之内",
    ),
    e(
        "E0303",
        "the name `{}` is defined twice",
        "名称 `{0}` 定义了两次",
    ),
    e(
        "E0303",
        "`{}` is defined twice in the clause",
        "`{0}` 在本条款中定义了两次",
    ),
    e(
        "W0110",
        "`{}` is defined but never used",
        "`{0}` 定义了但没有使用",
    ),
    e(
        "W0110",
        "the definition `{}` is never used",
        "定义 `{0}` 没有被使用",
    ),
    e(
        "W0204",
        "this value is never missing, so `otherwise` has no effect",
        "这个值不会缺失，“默认”不起作用",
    ),
    // Rule sets and clauses.
    e(
        "E0300",
        "two rule sets have the id `{}`",
        "两个规则集的编号都是 `{0}`",
    ),
    e(
        "E0301",
        "`extends` goes round in a circle: {}",
        "继承关系形成了环：{0}",
    ),
    e("E0302", "unknown rule set `{}`", "找不到规则集 `{0}`"),
    e(
        "E0307",
        "the header declares rule set `{}`, not `{}`",
        "文件头声明的规则集是 `{0}`，而不是 `{1}`",
    ),
    e(
        "E0303",
        "the constant `{}` is defined twice",
        "常量 `{0}` 定义了两次",
    ),
    e(
        "E0303",
        "the clause id `{}` is used twice",
        "条款编号 `{0}` 用了两次",
    ),
    e(
        "E0304",
        "cannot {} the mandatory clause `{}`",
        "不能{0}强制条款 `{1}`",
    ),
    e(
        "E0305",
        "`{}` overrides an inherited {} with a {}",
        "`{0}` 把继承的{1}条款改写成了{2}条款",
    ),
    e(
        "E0306",
        "there is no inherited clause `{}` to remove",
        "没有可删除的继承条款 `{0}`",
    ),
    e(
        "E0310",
        "the {} clause `{}` has no `when` condition",
        "{0}条款 `{1}` 缺少“条件”",
    ),
    e(
        "E0310",
        "the score clause `{}` has no `points`",
        "评分条款 `{0}` 缺少“得分”",
    ),
    e("E0311", "a {} clause has no `{}`", "{0}条款不能写 `{1}`"),
    e(
        "E0312",
        "the score clause `{}` has no `cap`",
        "评分条款 `{0}` 缺少“上限”",
    ),
    e(
        "E0314",
        "the floor {} is above the cap {}",
        "下限 {0} 高于上限 {1}",
    ),
    e(
        "E0315",
        "the weight must be greater than 0",
        "权重必须大于 0",
    ),
    e(
        "E0316",
        "the score clause `{}`: cap or floor × weight is too large a number",
        "评分条款 `{0}` 的上限或下限乘以权重后数值过大",
    ),
    e(
        "E0320",
        "the score clauses give at most {} points, but the header declares a total of {}",
        "各评分项最多得 {0} 分，但文件头写的总分是 {1} 分",
    ),
    e(
        "E0321",
        "with the score clause `{}`, the score clauses' points add up to too large a number",
        "加上评分条款 `{0}` 后，各评分项分值之和过大",
    ),
    e(
        "W0101",
        "the constant `{}` hides one of the base rule set",
        "常量 `{0}` 与所继承规则集中的常量同名",
    ),
    e(
        "W0102",
        "the clause `{}` has no wording",
        "条款 `{0}` 没有写表述",
    ),
    e(
        "W0103",
        "the constant `{}` hides the {} of the same name",
        "常量 `{0}` 与同名的{1}重名",
    ),
    e(
        "W0104",
        "`mandatory` on `{}` binds only rule sets that extend this one",
        "`{0}` 上的“强制”只约束继承本规则集的规则集",
    ),
    e(
        "W0106",
        "the wording of `{}` says {}, but the clause {}",
        "条款 `{0}` 的表述写的是{1}，规则却是{2}",
    ),
    e(
        "W0201",
        "the condition of `{}` is always false, so it never fires",
        "条款 `{0}` 的条件永远不成立，永远不会触发",
    ),
    e(
        "W0202",
        "the condition of `{}` is always true, so it fires for everyone",
        "条款 `{0}` 的条件永远成立，对所有投标人都会触发",
    ),
    e(
        "W0203",
        "`{}` has the same condition as `{}`",
        "`{0}` 与 `{1}` 的条件相同",
    ),
    // Tests.
    e("W0300", "two tests are called `{}`", "有两个测试都叫 `{0}`"),
    // Legality (check/legality.rs).
    e(
        "W0501",
        "`{}` counts only awards (表彰奖励) of a particular authority or sector",
        "条款 `{0}` 只对特定机关或特定行业颁发的表彰奖励加分",
    ),
    e(
        "E0502",
        "the veto `{}` makes an award (表彰奖励) a condition for bidding",
        "否决条款 `{0}` 把表彰奖励作为投标条件",
    ),
    e(
        "W0503",
        "the veto `{}` makes a credit grade (信用等级) a condition for bidding",
        "否决条款 `{0}` 把信用等级（信用评价结果）作为投标条件",
    ),
    e(
        "W0504",
        "the veto `{}` fires on a single 经营异常名录 listing",
        "否决条款 `{0}` 仅因一条经营异常名录记录就否决投标",
    ),
    e(
        "W0505",
        "the veto `{}` fires on a single minor (轻微) 行政处罚",
        "否决条款 `{0}` 仅因一起轻微行政处罚就否决投标",
    ),
    e(
        "E0506",
        "the veto `{}` fires on a `{}` record whose period has ended",
        "否决条款 `{0}` 对期限已届满的 `{1}` 记录仍然否决",
    ),
    e(
        "W0507",
        "`{}` vetoes on a `{}` record that is `{}`",
        "条款 `{0}` 因状态为 `{2}` 的 `{1}` 记录否决投标",
    ),
    e(
        "W0507",
        "`{}` deducts points for a `{}` record that is `{}`",
        "条款 `{0}` 对状态为 `{2}` 的 `{1}` 记录扣分",
    ),
    e(
        "E0508",
        "the wording of `{}` sets a condition on `{}`",
        "条款 `{0}` 的表述以“{1}”设条件",
    ),
    e(
        "W0509",
        "the wording of `{}` sets a condition on `{}`",
        "条款 `{0}` 的表述以“{1}”设条件",
    ),
    e(
        "E0510",
        "`{}` is an error, and an error cannot be allowed",
        "`{0}` 是错误，错误不能“允许”",
    ),
    e(
        "E0510",
        "`{}` is not a legality warning that can be allowed",
        "`{0}` 不是可以“允许”的合法性提示",
    ),
    e(
        "W0511",
        "`allow {}` suppresses nothing: no clause of this rule set draws `{}`",
        "“允许 {0}”没有抑制任何提示：本规则集没有条款触发 `{1}`",
    ),
    e(
        "E0512",
        "the allowance of `{}` gives no reason",
        "对 `{0}` 的“允许”没有写理由",
    ),
    e(
        "E0400",
        "the test `{}` has no `as_of` date",
        "测试 `{0}` 缺少评价日期",
    ),
    e(
        "E0401",
        "two records of this test have the id `{}`",
        "本测试中有两条记录的编号都是 `{0}`",
    ),
    e(
        "E0402",
        "the test expects a clause `{}` that does not exist",
        "测试预期的条款 `{0}` 不存在",
    ),
    e(
        "E0403",
        "`{}` is a {} clause, but the test expects a {} clause",
        "`{0}` 是{1}条款，测试却按{2}条款预期",
    ),
    e(
        "T0001",
        "the test `{}` has no `as_of` date",
        "测试 `{0}` 缺少评价日期",
    ),
    e("T0001", "unknown record field `{}`", "未知的记录字段 `{0}`"),
    e("T0001", "unknown record kind `{}`", "未知的记录类别 `{0}`"),
    e("T0001", "unknown severity `{}`", "未知的严重程度 `{0}`"),
    e("T0001", "`{}` needs a date", "`{0}` 需要写日期"),
    e(
        "T0001",
        "`amount` needs a number",
        "`金额`（amount）需要写数字",
    ),
    e(
        "T0001",
        "the record `{}` has no `kind`",
        "记录 `{0}` 缺少“类别”",
    ),
    e(
        "T0001",
        "the record `{}` has no `date`",
        "记录 `{0}` 缺少“认定日期”",
    ),
    e(
        "T0001",
        "expected eligible, but the decision is {} (vetoes fired: {})",
        "预期合格，实际结论为{0}（触发的否决项：{1}）",
    ),
    e(
        "T0001",
        "expected disqualified, but the decision is {}",
        "预期不合格，实际结论为{0}",
    ),
    e(
        "T0001",
        "`{}` is a {} clause, not a {}",
        "`{0}` 是{1}条款，不是{2}条款",
    ),
    e(
        "T0001",
        "expected `{}` to fire, but it did not",
        "预期 `{0}` 触发，实际未触发",
    ),
    e(
        "T0001",
        "expected `{}` not to fire, but it did",
        "预期 `{0}` 不触发，实际触发了",
    ),
    e("T0001", "there is no clause `{}`", "没有条款 `{0}`"),
    e(
        "T0001",
        "expected a total of {}, got {}",
        "预期总分 {0}，实际为 {1}",
    ),
    e(
        "T0001",
        "`{}` is a {} clause and gives no points",
        "`{0}` 是{1}条款，不给分",
    ),
    e(
        "T0001",
        "expected `{}` to give {} points, got {}",
        "预期 `{0}` 得 {1} 分，实际为 {2}",
    ),
    // Formatting, publishing, command line.
    e(
        "E0500",
        "cannot keep the comment inside {}",
        "无法保留写在{0}中间的注释",
    ),
    e(
        "E0501",
        "formatting would change the meaning of the rule set",
        "格式化会改变规则集的含义",
    ),
    e(
        "E0600",
        "rule set `{}` does not check",
        "规则集 `{0}` 检查不通过",
    ),
    e("E0700", "`{}` is not a date", "`{0}` 不是日期"),
    e(
        "E0701",
        "{}: not valid records JSON at line {}, column {}: {}",
        "{0}：第 {1} 行第 {2} 列起不是合法的记录 JSON：{3}",
    ),
    e(
        "E0702",
        "{}: record #{} (`{}`): {}",
        "{0}：第 {1} 条记录（`{2}`）：{3}",
    ),
    e("E0702", "{}: record #{}: {}", "{0}：第 {1} 条记录：{2}"),
    e(
        "E0715",
        "the {} version `{}` of rule set `{}` does not check",
        "规则集 `{2}` 的 {0} 版本 `{1}` 检查不通过",
    ),
    e(
        "E0713",
        "{} `{}` is neither a rule file nor a stored version",
        "{0} `{1}` 既不是规则文件，也不是已存版本",
    ),
    e(
        "E0711",
        "{} `{}` names rule set `{}`, but --ruleset is `{}`",
        "{0} `{1}` 属于规则集 `{2}`，而 --ruleset 是 `{3}`",
    ),
    e(
        "E0712",
        "there is no record store at `{}`",
        "`{0}` 处没有信用记录库",
    ),
    e(
        "E0802",
        "there is no record store at `{}`",
        "`{0}` 处没有信用记录库",
    ),
    e(
        "E0802",
        "cannot open the record store: {}",
        "无法打开信用记录库：{0}",
    ),
    e(
        "E0802",
        "cannot read the record store: {}",
        "无法读取信用记录库：{0}",
    ),
    e("E0802", "the record store is not open", "信用记录库未打开"),
    e(
        "E0803",
        "the {} version `{}` cannot be compared",
        "{0}版本 `{1}` 无法比较",
    ),
    e(
        "E0800",
        "`{}` is not a stored version: {}",
        "`{0}` 不是已存版本的写法：{1}",
    ),
    e(
        "E0801",
        "the record store has no versions of rule set `{}`",
        "记录库中没有规则集 `{0}` 的任何版本",
    ),
    e("E0804", "cannot print JSON: {}", "无法输出 JSON：{0}"),
];

/// Help and note lines.
pub(crate) const HINTS: &[Entry] = &[
    e(
        "E0014",
        "write a whole number of places from 0 to 10, e.g. `rounding per_clause 2 half_up` (计分舍入 逐条 2 四舍五入)",
        "写 0 到 10 之间的整数位数，例如 `计分舍入 逐条 2 四舍五入`",
    ),
    e(
        "E0230",
        "write `{}(a, b)`; for the {} over records write `{}(records where …, amount)`",
        "写成 `{0}(甲, 乙)`；对记录求{1}值，写成 `{2}(记录 满足 …, 金额)`",
    ),
    e(
        "E0230",
        "write `clamp(x, 0, 10)` (限定(x, 0, 10)): x, held between 0 and 10",
        "写成 `限定(值, 0, 10)`：值低于 0 取 0，高于 10 取 10",
    ),
    e(
        "E0231",
        "write how many decimal places to keep, e.g. `round(x, 2, half_up)` (舍入(x, 2, 四舍五入))",
        "写出保留几位小数，例如 `舍入(值, 2, 四舍五入)`",
    ),
    e(
        "E0233",
        "add the mode after the places: `round(x, 2, half_up)` (舍入(x, 2, 四舍五入)) or `half_even` (银行家舍入)",
        "在位数后写明方式：`舍入(值, 2, 四舍五入)` 或 `舍入(值, 2, 银行家舍入)`",
    ),
    e(
        "E0232",
        "write the lower bound first: `clamp(x, lo, hi)` (限定(x, 下限, 上限))",
        "先写下限再写上限：`限定(值, 下限, 上限)`",
    ),
    e(
        "E0202",
        "take the smallest or largest of numbers or of dates",
        "“最小”“最大”只能用于数或日期",
    ),
    e(
        "E0202",
        "compare numbers with numbers and dates with dates",
        "数与数比较，日期与日期比较",
    ),
    // Legality (check/legality.rs).
    e(
        "W0501",
        "count awards whoever gave them, or accept it with `allow W0501 because \"…\"` if the project is not one that must be tendered by law",
        "不论颁发机关、行业一律计分；如本项目不属于依法必须招标的项目，可在文件头写 `允许 W0501 理由 \"…\"`",
    ),
    e(
        "E0502",
        "awards may give capped points, never decide who may bid: turn the clause into a score, or delete it",
        "表彰奖励只能有上限地加分，不能决定能否投标：把本条改为评分条款，或删除",
    ),
    e(
        "W0503",
        "use credit evaluations for capped points, not as a bar to bidding; or accept it with `allow W0503 because \"…\"` naming the rule that bars the grade",
        "信用评价结果用于有上限的加减分，不作为投标门槛；如确有规定禁止该等级投标，在文件头写 `允许 W0503 理由 \"…\"` 并写明该规定",
    ),
    e(
        "W0504",
        "a listing of abnormal operation does not by law bar bidding: make it a flag (提示) for review, or accept it with `allow W0504 because \"…\"`",
        "列入经营异常名录依法不构成投标禁止：改为提示条款供人工核实，或在文件头写 `允许 W0504 理由 \"…\"`",
    ),
    e(
        "W0505",
        "only a serious violation (重大违法记录) bars bidding: restrict the veto, e.g. `severity = 严重`, a penalty type or an amount, or deduct points instead",
        "只有重大违法记录才排斥投标：限定否决范围（如 `严重程度 = 严重`、处罚类别或金额），或改为扣分",
    ),
    e(
        "E0506",
        "a bidder whose ban has ended may bid again: drop `已过公示期` from the `status` filter",
        "禁止投标的期限届满后即可参加投标：从 `状态` 条件中去掉 `已过公示期`",
    ),
    e(
        "W0507",
        "a record whose disclosure has ended or that has been repaired no longer counts against a bidder: drop the status from the filter, or accept it with `allow W0507 because \"…\"` citing the rule that still counts it",
        "已过公示期或已信用修复的记录不应再作为不利依据：从条件中去掉该状态，或在文件头写 `允许 W0507 理由 \"…\"` 并写明仍计入的依据",
    ),
    e(
        "E0508",
        "where a bidder is registered and who owns it may not be a condition or a scoring factor: delete that part of the wording",
        "投标人的注册地、所在地和所有制形式不得作为资格条件或评分因素：删去表述中的这一部分",
    ),
    e(
        "W0509",
        "size (capital, turnover, staff) may be a condition only as far as the project really needs it: delete it, or accept it with `allow W0509 because \"…\"` saying why the project needs it",
        "注册资本、营业收入、从业人员等规模条件只能限于项目实际需要：删去，或在文件头写 `允许 W0509 理由 \"…\"` 说明项目为何需要",
    ),
    e(
        "E0510",
        "only legality warnings can be allowed: {}; an error must be fixed",
        "只有合法性提示可以“允许”：{0}；错误必须改正",
    ),
    e(
        "E0512",
        "write why the rule set may do what the warning is about, e.g. `allow W0507 because \"《政府采购法》第二十二条：前三年内的重大违法记录，公示期满仍计\"`",
        "写明本规则集为何可以这样做，例如 `允许 W0507 理由 \"《政府采购法》第二十二条：前三年内的重大违法记录，公示期满仍计\"`",
    ),
    e(
        "W0511",
        "delete the allowance (or the duplicate line); keep an allowance only while a clause needs it",
        "删除这一行“允许”（或重复的那一行）；只在有条款需要时保留",
    ),
    e(
        "E0201",
        "the tender context has a project type, a sector and a budget",
        "项目信息有项目类型、行业和预算",
    ),
    e("*", "legal basis: {}", "法律依据：{0}"),
    e("*", "did you mean `{}`?", "是不是要写 `{0}`？"),
    e(
        "*",
        "put a space after the keyword `{}`: write `{}`",
        "关键字 `{0}` 后面要加空格：写成 `{1}`",
    ),
    e(
        "*",
        "`{}` is a keyword and cannot be used as a name; choose another name",
        "`{0}` 是关键字，不能用作名称，请换一个名称",
    ),
    e(
        "*",
        "a text must end with `\"` on the same line",
        "文字必须在同一行内用 `\"` 结束",
    ),
    e(
        "*",
        "the `{}` on line {} is never closed",
        "第 {1} 行的 `{0}` 没有对应的右括号",
    ),
    e(
        "*",
        "check the line against the examples in the authoring guide (docs/authoring-guide.md)",
        "请对照编写指南（docs/authoring-guide.md）中的示例检查这一行",
    ),
    e(
        "*",
        "add `}` at the end of `{}`, before the next clause",
        "在 `{0}` 的末尾、下一条条款之前补上 `}`",
    ),
    e(
        "*",
        "the next item starts on line {}",
        "下一项从第 {0} 行开始",
    ),
    e(
        "*",
        "the base rule sets are looked up in the rule-set folder given by `--lib` (default `rulesets`): e.g. `credit-rules check --lib rulesets FILE`",
        "所继承的规则集在 `--lib` 指定的规则集目录中查找（默认为 `rulesets`），如 `credit-rules check --lib rulesets 文件`",
    ),
    e(
        "*",
        "no rule set was found there",
        "该目录中没有找到任何规则集",
    ),
    e(
        "*",
        "a rule set is normally a few kilobytes; split it or check that the right file was given",
        "规则集通常只有几千字节：请确认文件是否选对，或拆分文件",
    ),
    e(
        "*",
        "split the expression into named constants or simpler clauses",
        "把表达式拆成几个常量或几条更简单的条款",
    ),
    e(
        "*",
        "two `not`s cancel out: remove them in pairs",
        "两个“非”互相抵消：成对删去",
    ),
    e(
        "*",
        "check the path and that the file is readable",
        "请检查路径是否正确、文件是否可读",
    ),
    e(
        "*",
        "check the path of the rule file",
        "请检查规则文件的路径",
    ),
    e(
        "*",
        "check the path and that it is readable",
        "请检查路径是否正确、是否可读",
    ),
    e(
        "*",
        "check that the folder exists and is writable",
        "请检查目录是否存在、是否可写",
    ),
    e(
        "*",
        "check where standard output goes",
        "请检查标准输出的去向",
    ),
    e(
        "*",
        "only the first {} problems are listed; fix them and check again",
        "只列出了前 {0} 个问题：先改正这些，再重新检查",
    ),
    e(
        "*",
        "give `-o FILE.docx`, or redirect standard output to a file",
        "请用 `-o 文件.docx` 指定输出文件，或把标准输出重定向到文件",
    ),
    e(
        "*",
        "the rule set is too large or has too many problems to check in one request; check it with `credit-rules check` and fix the problems first",
        "规则集太大或问题太多，无法在一次提交中检查完：请先用 `credit-rules check` 在本地检查并改正",
    ),
    e("*", "keep one of the two lines", "保留其中一行"),
    e(
        "*",
        "write a calendar date as YYYY-MM-DD, e.g. 2019-12-31",
        "日期按“年-月-日”写，如 2019-12-31",
    ),
    e(
        "*",
        "write a date as YYYY-MM-DD, with two-digit months and days: `{}`",
        "日期按“年-月-日”写，月和日都写两位：`{0}`",
    ),
    e(
        "*",
        "numbers may have at most 28 significant digits",
        "数字最多 28 位有效数字",
    ),
    e(
        "*",
        "a window is at most 200 years (2400 months, 73000 days)",
        "时间窗口最长 200 年（2400 个月，73000 日）",
    ),
    e(
        "*",
        "write `{}` (half-width) instead of `{}`",
        "请把 `{1}` 改为半角的 `{0}`",
    ),
    e(
        "*",
        "add a line such as `{}` to the header",
        "在文件头中加一行，如 `{0}`",
    ),
    e(
        "*",
        "add `unit \"武汉市…局\"` (责任单位)",
        "加上 `责任单位 \"武汉市…局\"`",
    ),
    e(
        "*",
        "name a record kind by its Chinese label or code (see `src/record.rs`)",
        "请写记录类别的中文名称或代码（见编写指南第5节）",
    ),
    e(
        "*",
        "a kind is checked on one channel; remove it here or from `{}`",
        "一个类别只在一个渠道查询：从这里或从 `{0}` 中删去",
    ),
    e(
        "*",
        "tender documents print the {} as it is: keep only the published text there and move the remark to `note \"…\"` (备注), which is never printed",
        "招标文件会原样印出{0}：这里只保留要公布的文字，把说明移到 `备注 \"…\"`（备注不会印出）",
    ),
    e(
        "*",
        "revoked records never count and cannot be queried; statuses are `有效` (active), `已修复` (repaired) and `已过公示期` (expired)",
        "已撤销的记录一律不计入，也不能查询；状态只有 `有效`、`已修复` 和 `已过公示期`",
    ),
    e(
        "*",
        "record kinds are listed in the authoring guide, e.g. `行政处罚`, `失信被执行人`, `黑名单`",
        "记录类别见编写指南第5节，如 `行政处罚`、`失信被执行人`、`黑名单`",
    ),
    e(
        "*",
        "define it with `const` (常量), or check the spelling",
        "请检查拼写，或先用 `常量` 定义它",
    ),
    e("*", "the allowed {} are: {}", "可以写的{0}有：{1}"),
    e(
        "*",
        "`{}` is the English name of the record kind `{}`: write `{}`",
        "`{0}` 是记录类别 `{1}` 的英文名称：请写 `{2}`",
    ),
    e(
        "*",
        "give a default with `otherwise` (默认), e.g. `latest(records where …, grade) otherwise \"B\"`",
        "用“默认”给出缺省值，如 `最近(记录 满足 …, 等级) 默认 \"B\"`",
    ),
    e(
        "*",
        "write `kind in [黑名单, 失信被执行人]`",
        "写成 `类别 属于 [黑名单, 失信被执行人]`",
    ),
    e("*", "write `kind in {}`", "写成 `类别 属于 {0}`"),
    e(
        "*",
        "use it in a query, e.g. `count(records where {} …)`",
        "请写在查询之内，如 `计数(记录 满足 {0} …)`",
    ),
    e("*", "remove the `otherwise` part", "删去“默认”及其后的值"),
    e(
        "*",
        "both sides of a comparison must be of the same kind",
        "比较的两边必须是同一种值",
    ),
    e(
        "*",
        "use `=` or `!=`; only numbers, dates, durations and severities have an order",
        "请用 `=` 或 `≠`：只有数、日期、期限和严重程度可以比较大小",
    ),
    e(
        "*",
        "divide by a number other than 0",
        "请除以一个不为 0 的数",
    ),
    e(
        "*",
        "add or subtract numbers, or a duration to or from a date (`as_of - 3 years`)",
        "只能对数做加减，或给日期加减期限（如 `评价日期 - 3 年`）",
    ),
    e(
        "*",
        "write a list in brackets: `kind in [黑名单, 失信被执行人]`",
        "在方括号中写出列表：`类别 属于 [黑名单, 失信被执行人]`",
    ),
    e(
        "*",
        "every item of the list must be of the same kind as the left side",
        "列表中的每一项都必须与左边是同一种值",
    ),
    e(
        "*",
        "use kinds, texts, numbers or constants in a list",
        "列表中只能写类别、文字、数或常量",
    ),
    e(
        "*",
        "both branches must give the same kind of value",
        "“则”和“否则”之后必须是同一种值",
    ),
    e(
        "*",
        "write keys of the same kind as the looked-up value, e.g. \"AAA\" for a grade",
        "键要与所查的值是同一种，如等级写 \"AAA\"",
    ),
    e("*", "keep one entry per key", "每个键只保留一项"),
    e(
        "*",
        "a table value is a number or the name of a number constant",
        "对照表的值只能是数或数值常量的名称",
    ),
    e(
        "*",
        "compute it in a separate expression or clause",
        "请拆到另一个表达式或另一条条款中计算",
    ),
    e(
        "*",
        "write `{}(records where …)`",
        "写成 `{0}(记录 满足 …)`",
    ),
    e(
        "*",
        "write e.g. `{}(records where kind = 行政处罚, amount)`",
        "例如写成 `{0}(记录 满足 类别 = 行政处罚, 金额)`",
    ),
    e(
        "*",
        "sum numbers; take max or min of numbers or dates",
        "合计只能用于数；最大、最小只能用于数或日期",
    ),
    e(
        "*",
        "write it in a filter: `count(records where kind = 行政处罚 and within 3 years)`",
        "请写在筛选条件中：`计数(记录 满足 类别 = 行政处罚 且 近 3 年)`",
    ),
    e(
        "*",
        "write a condition, e.g. `any(records where kind = 黑名单)` or `count(…) >= 2`",
        "请写一个条件，如 `存在(记录 满足 类别 = 黑名单)` 或 `计数(…) >= 2`",
    ),
    e(
        "*",
        "write a number or an expression giving one, e.g. `count(records where …) * 2`",
        "请写一个数或得出数的表达式，如 `计数(记录 满足 …) × 2`",
    ),
    e(
        "*",
        "write a date as YYYY-MM-DD or use `as_of`",
        "日期按“年-月-日”（YYYY-MM-DD）写，或用 `评价日期`",
    ),
    e(
        "*",
        "write a duration such as `3 years` (3 年) or `6 months` (6 个月)",
        "请写期限，如 `3 年` 或 `6 个月`",
    ),
    e("*", "check the value's kind", "请检查值的类型"),
    e(
        "*",
        "use numbers, dates, durations, texts or other constants; records and `as_of` are not allowed here",
        "这里只能写数、日期、期限、文字或其他常量，不能读取记录或评价日期",
    ),
    e(
        "*",
        "give each rule set its own id",
        "每个规则集的编号必须不同",
    ),
    e("*", "give each clause its own id", "每条条款的编号必须不同"),
    e(
        "*",
        "`remove` only drops clauses of the rule set named in `extends`",
        "“删除”只能删去“继承”所写规则集中的条款",
    ),
    e("*", "the other one is in {}", "另一个在 {0} 中"),
    e(
        "*",
        "check the id in the `extends` line and that its file is in the rule-set folder",
        "请检查“继承”一行中的编号，以及该规则集文件是否在规则集目录中",
    ),
    e(
        "*",
        "the base rule sets are looked up in the folder given by `--lib` (now `{}`): run e.g. `credit-rules check --lib rulesets {}`",
        "所继承的规则集在 `--lib` 指定的目录中查找（现为 `{0}`）：例如运行 `credit-rules check --lib rulesets {1}`",
    ),
    e(
        "*",
        "the rule sets found there: {}",
        "该目录中的规则集：{0}",
    ),
    e(
        "*",
        "a rule set may extend the city base, which extends nothing",
        "行业规则集继承全市统一规则，全市统一规则不再继承其他规则集",
    ),
    e(
        "*",
        "rename one of them or delete the second",
        "给其中一个改名，或删去第二个",
    ),
    e("*", "first defined on line {}", "第一次定义在第 {0} 行"),
    e(
        "*",
        "a definition cannot use itself, directly or through other definitions; write the value of one of them without the other",
        "定义不能直接或经由其他定义引用自身；把其中一个的值改写成不引用另一个",
    ),
    e(
        "*",
        "use it outside the query, e.g. `if 处罚数 > 0 then …`",
        "在查询之外使用它，例如 `如果 处罚数 > 0 则 …`",
    ),
    e(
        "*",
        "use it in the clause's condition or points, or delete the `let`",
        "在条款的条件或得分中使用它，或删去这条“设”",
    ),
    e(
        "*",
        "use it in a clause, or delete it",
        "在条款中使用它，或把它删去",
    ),
    e("*", "first used on line {}", "第一次使用在第 {0} 行"),
    e(
        "*",
        "inherited clauses keep the base value; rename it to avoid confusion",
        "继承来的条款仍用原来的值：请改名以免混淆",
    ),
    e(
        "*",
        "rename the constant, e.g. add a suffix such as `值`",
        "请给常量改名，如加上后缀 `值`",
    ),
    e(
        "*",
        "mandatory city clauses apply to every sector unchanged; add a separate clause if the sector needs more",
        "全市强制条款对所有行业原样适用：行业需要更严的要求时，另加一条本行业条款",
    ),
    e(
        "*",
        "`{}` is declared mandatory in rule set `{}`",
        "`{0}` 在规则集 `{1}` 中被定为强制条款",
    ),
    e(
        "*",
        "give the new clause another id, or keep the inherited clause's kind",
        "给新条款换一个编号，或保持与继承条款相同的类别",
    ),
    e(
        "*",
        "mandatory clauses belong in the city base; in a sector rule set, remove `mandatory`",
        "强制条款应写在全市统一规则中：行业规则集中请删去“强制”",
    ),
    e(
        "*",
        "a score clause gives `points`; use `if … then … else 0` for a condition",
        "评分条款用“得分”：需要条件时写 `如果 … 则 … 否则 0`",
    ),
    e(
        "*",
        "only score clauses have points, weight, cap and floor",
        "只有评分条款才有得分、权重、上限和下限",
    ),
    e(
        "*",
        "add a line such as `when any(records where kind = 失信被执行人)`",
        "加一行条件，如 `条件 存在(记录 满足 类别 = 失信被执行人)`",
    ),
    e(
        "*",
        "add a line such as `points -1 * count(records where kind = 不良行为记录)`",
        "加一行得分，如 `得分 -1 × 计数(记录 满足 类别 = 不良行为记录)`",
    ),
    e(
        "*",
        "write a number such as `3` or `0.5`",
        "请写一个数，如 `3` 或 `0.5`",
    ),
    e(
        "*",
        "remove the clause instead of weighting it 0",
        "不需要的条款直接删除，不要把权重写成 0",
    ),
    e(
        "*",
        "the floor is the fewest points, the cap the most: swap them",
        "下限是最低分，上限是最高分：请对调",
    ),
    e(
        "*",
        "add `wording \"…\"`: the sentence the tender document prints for this clause",
        "加上 `表述 \"…\"`：招标文件中印出的条款原文",
    ),
    e(
        "*",
        "add `cap N`: the most points the clause can give, so the total can be checked (use `cap 0` for a pure deduction)",
        "加上 `上限 N`：本项最多得几分，以便核对总分（纯扣分项写 `上限 0`）",
    ),
    e(
        "*",
        "make each clause's cap × weight add up to the total, or correct the total",
        "调整各项的上限×权重使之合计等于总分，或改正总分",
    ),
    e(
        "*",
        "`{}`: cap {} × weight {} = {}",
        "`{0}`：上限 {1} × 权重 {2} = {3}",
    ),
    e(
        "*",
        "points, caps, floors and weights are credit points: use numbers of a sensible size",
        "得分、上限、下限和权重都是信用分：请用合理大小的数",
    ),
    e(
        "*",
        "check the condition; a clause should depend on the entity's records",
        "请检查条件：条款应当取决于投标人的信用记录",
    ),
    e(
        "*",
        "merge the two clauses or make their conditions differ",
        "合并这两条条款，或让它们的条件有所区别",
    ),
    e(
        "*",
        "give each test its own description so failures can be told apart",
        "每个测试写不同的说明，测试失败时才分得清",
    ),
    e(
        "*",
        "add a line `as_of 2024-06-01` (评价日期)",
        "加一行 `评价日期 2024-06-01`",
    ),
    e(
        "*",
        "record ids are unique per source; give the second record another id",
        "同一来源的记录编号不能重复：给第二条记录换一个编号",
    ),
    e(
        "*",
        "use `expect veto`/`expect not veto` for vetoes, `expect flag`/`expect not flag` for flags, `expect points` for scores",
        "否决项用 `预期 否决`／`预期 非 否决`，提示项用 `预期 提示`／`预期 非 提示`，评分项用 `预期 得分`",
    ),
    e(
        "*",
        "name a clause of this rule set or of the one it extends",
        "请写本规则集或所继承规则集中的条款编号",
    ),
    e(
        "*",
        "check the records' dates and statuses, or the veto conditions",
        "请核对记录的日期和状态，或否决条件",
    ),
    e(
        "*",
        "no veto fired for these records",
        "这些记录没有触发任何否决项",
    ),
    e("*", "name a clause of the right kind", "请写类别相符的条款"),
    e(
        "*",
        "check the records against the clause's condition",
        "请对照条款的条件核对记录",
    ),
    e("*", "check the clause id", "请检查条款编号"),
    e(
        "*",
        "check each clause's points with `credit-rules eval`",
        "可用 `credit-rules eval` 逐项核对得分",
    ),
    e(
        "*",
        "use `expect veto` or `expect flag` for it, or name a score clause",
        "对它请用 `预期 否决` 或 `预期 提示`，或改写一条评分条款",
    ),
    e(
        "*",
        "points are after cap, floor and weight, rounded to 2 places",
        "得分是按上限、下限截取并乘以权重、保留两位小数之后的分数",
    ),
    e(
        "*",
        "add e.g. `kind 行政处罚` (类别)",
        "加上如 `类别 行政处罚`",
    ),
    e(
        "*",
        "add e.g. `date 2023-01-01` (认定日期)",
        "加上如 `认定日期 2023-01-01`",
    ),
    e(
        "*",
        "correct the record's dates or fields",
        "请改正记录的日期或字段",
    ),
    e("*", "write YYYY-MM-DD", "按“年-月-日”（YYYY-MM-DD）写"),
    e(
        "*",
        "use a kind from the authoring guide, e.g. 行政处罚",
        "请用编写指南中列出的类别，如 行政处罚",
    ),
    e("*", "use 轻微, 一般 or 严重", "请写 轻微、一般 或 严重"),
    e(
        "*",
        "write e.g. `amount 5` (万元)",
        "例如写 `金额 5`（万元）",
    ),
    e(
        "*",
        "fields: kind, date, published (公示日期), until, valid_until (有效期至), severity, sector, authority, document_no, penalty, amount, grade, repaired, revoked",
        "可以写的字段：类别、认定日期、公示日期、公示截止、有效期至、严重程度、行业、认定机关、文书号、处罚类别、金额、等级、修复日期、撤销日期、依据、说明",
    ),
    e(
        "*",
        "move the comment to its own line above {}",
        "把注释单独移到{0}的上一行",
    ),
    e(
        "*",
        "`fmt` never drops a comment, so the file was left as it is",
        "格式化从不删除注释，所以文件未作改动",
    ),
    e(
        "*",
        "this is a bug in `credit-rules fmt`; the file was left as it is — please report it with the file",
        "这是 `credit-rules fmt` 的程序缺陷，文件未作改动：请连同文件一起报告",
    ),
    e("*", "its own diagnostics follow", "其诊断信息列在后面"),
    e("*", "its diagnostics follow", "其诊断信息列在后面"),
    e(
        "*",
        "write --as-of YYYY-MM-DD, e.g. --as-of 2024-06-01",
        "按 --as-of YYYY-MM-DD 写，如 --as-of 2024-06-01",
    ),
    e(
        "*",
        "give a JSON array of records, each with at least id, uscc, kind and decided_on",
        "请给出记录的 JSON 数组，每条至少有 id、uscc、kind 和 decided_on",
    ),
    e(
        "*",
        "see the record schema in README.md",
        "记录格式见 README.md",
    ),
    e(
        "*",
        "fix the problems listed below, then run `credit-rules diff` again",
        "改正下面列出的问题后，再运行 `credit-rules diff`",
    ),
    e(
        "*",
        "give one 18-character 统一社会信用代码 per line",
        "每行写一个 18 位统一社会信用代码",
    ),
    e(
        "*",
        "the wording is printed in the tender document: make it say what the rule does ({}), or correct the rule",
        "表述会印在招标文件中：请让表述与规则一致（{0}），或改正规则",
    ),
];

/// Phrases inside messages: types, clause kinds, roles, expected tokens.
pub(crate) const TERMS: &[Entry] = &[
    e("", "{} that may be missing", "可能缺失的{0}"),
    e("", "counts records within {}", "统计{0}内的记录"),
    e("", "deducts at most {} points", "最多扣{0}分"),
    e("", "gives at most {} points", "最多加{0}分"),
    e("", "deducts {} points per record", "每起（条）扣{0}分"),
    e("", "adds {} points per record", "每项（条）加{0}分"),
    e("", "{} years", "{0}年"),
    e("", "{} months", "{0}个月"),
    e("", "a yes/no condition", "“是/否”判断"),
    e("", "count", "计数"),
    e("", "any", "存在"),
    e("", "none", "不存在"),
    e("", "sum", "合计"),
    e("", "max", "最大"),
    e("", "min", "最小"),
    e("", "`clamp`", "“限定”（clamp）"),
    e("", "`round`", "“舍入”（round）"),
    e("", "latest", "最近"),
    e("", "a number", "数"),
    e("", "a text", "文字"),
    e("", "a date", "日期"),
    e("", "a duration", "期限"),
    e("", "a record kind", "记录类别"),
    e("", "a severity", "严重程度"),
    e("", "a record status", "记录状态"),
    e("", "record kind", "记录类别"),
    e("", "record field", "记录字段"),
    e("", "severity", "严重程度"),
    e("", "status", "记录状态"),
    e("", "name", "名称"),
    e("", "severities", "严重程度"),
    e("", "statuses", "记录状态"),
    e("", "record fields", "记录字段"),
    e("", "tender context field", "项目信息字段"),
    e("", "tender context fields", "项目信息字段"),
    e("", "veto", "否决"),
    e("", "score", "评分"),
    e("", "flag", "提示"),
    e("", "override", "改写"),
    e("", "remove", "删除"),
    e("", "basis", "依据"),
    e("", "wording", "表述"),
    e("", "the rule set", "本规则集"),
    e("", "the condition", "条件"),
    e("", "the points", "得分"),
    e("", "the cap", "上限"),
    e("", "the floor", "下限"),
    e("", "the weight", "权重"),
    e("", "cap", "上限"),
    e("", "floor", "下限"),
    e("", "weight", "权重"),
    e("", "a record filter", "记录筛选条件"),
    e("", "the operand of `not`", "“非”之后"),
    e("", "each side of `and`", "“且”的两边"),
    e("", "each side of `or`", "“或”的两边"),
    e("", "the default after `otherwise`", "“默认”之后的值"),
    e("", "the condition after `if`", "“如果”之后的条件"),
    e("", "`-`", "负号"),
    e("", "`within`", "“近”（within）"),
    e("", "`*`", "乘号"),
    e("", "`/`", "除号"),
    e("", "eligible", "合格"),
    e("", "disqualified", "不合格"),
    e("", "an expression", "表达式"),
    e("", "a clause field", "条款字段"),
    e("", "old", "旧"),
    e("", "new", "新"),
    e("", "clause", "条款"),
    e("", "veto clause", "否决条款"),
    e("", "score clause", "评分条款"),
    e("", "flag clause", "提示条款"),
    e("", "test", "测试"),
    e("", "test record", "测试记录"),
    e("", "the clause", "条款"),
    e("", "the constant", "常量"),
    e("", "that line", "该行"),
    e("", "a `remove` line", "“删除”一行"),
    // What the parser expected (E0001).
    e(
        "",
        "an operator (`=`, `+`, `and` …)",
        "运算符（`=`、`+`、`且` 等）",
    ),
    e(
        "",
        "a clause field (`wording` 表述, `basis` 依据, `note` 备注, `let` 设, `when` 条件, `points` 得分, `weight` 权重, `cap` 上限, `floor` 下限)",
        "条款字段（表述、依据、备注、设、条件、得分、权重、上限、下限）",
    ),
    e("", "something else", "其他内容"),
    e("", "a space", "空格"),
    e("", "a comment", "注释"),
    e("", "a rule file", "规则文件"),
    e("", "a clause, constant or test", "条款、常量或测试"),
    e(
        "",
        "a rule-set header (`ruleset id { … }` / `规则集 id { … }`)",
        "规则集文件头（`规则集 编号 { … }`）",
    ),
    e(
        "",
        "a header field (`title`, `sector`, `version`, `effective`, `unit`, `basis`, `extends`, `total`, `query_channel`, `query_day`, `query_evidence`, `commitment`, `allow`, `note`, `rounding`)",
        "文件头字段（标题、行业、版本、生效日期、责任单位、依据、继承、总分、查询渠道、查询时点、查询留存、信用承诺、允许、备注、计分舍入）",
    ),
    e(
        "",
        "`rounding per_clause|on_total [places] half_up|half_even`",
        "`计分舍入 逐条|按总分 [位数] 四舍五入|银行家舍入`",
    ),
    e(
        "",
        "`per_clause` / `逐条` or `on_total` / `按总分`",
        "“逐条”或“按总分”",
    ),
    e(
        "",
        "a function call (`min(a, b)`, `max(a, b)`, `clamp(x, lo, hi)`)",
        "函数（`最小(甲, 乙)`、`最大(甲, 乙)`、`限定(值, 下限, 上限)`）",
    ),
    e(
        "",
        "`min`, `max` or `clamp` (最小, 最大, 限定)",
        "最小、最大或限定",
    ),
    e(
        "",
        "`round(x, places, half_up)` / `舍入(x, 2, 四舍五入)`",
        "`舍入(值, 位数, 四舍五入)`",
    ),
    e(
        "",
        "a rounding mode (`half_up` / `四舍五入`, `half_even` / `银行家舍入`)",
        "舍入方式（四舍五入、银行家舍入）",
    ),
    e("", "a percentage (`5%`)", "百分数（`5%`）"),
    e(
        "",
        "a constant (`const name = …`)",
        "常量（`常量 名称 = …`）",
    ),
    e("", "`remove clause-id`", "`删除 条款编号`"),
    e(
        "",
        "a clause (`veto`/`score`/`flag`, 否决/评分/提示)",
        "条款（否决、评分、提示）",
    ),
    e(
        "",
        "`veto`, `score` or `flag` (否决, 评分, 提示)",
        "否决、评分或提示",
    ),
    e(
        "",
        "a clause field (`wording`, `basis`, `note`, `let`, `when`, `points`, `weight`, `cap`, `floor`)",
        "条款字段（表述、依据、备注、设、条件、得分、权重、上限、下限）",
    ),
    e(
        "",
        "a test (`test \"…\" { … }`)",
        "测试（`测试 \"…\" { … }`）",
    ),
    e(
        "",
        "a test line (`as_of`, `record`, `expect`)",
        "测试内容（评价日期、记录、预期）",
    ),
    e(
        "",
        "a record field (`kind 行政处罚`)",
        "记录字段（如 `类别 行政处罚`）",
    ),
    e(
        "",
        "a field value (date, number, text or name)",
        "字段值（日期、数、文字或名称）",
    ),
    e(
        "",
        "an expectation (`eligible`, `disqualified`, `veto id`, `flag id`, `total n`, `points id n`)",
        "预期（合格、不合格、否决 编号、提示 编号、总分 n、得分 编号 n）",
    ),
    e("", "an operator", "运算符"),
    e("", "a value", "值"),
    e(
        "",
        "a table (`table x { \"A\": 1 }`)",
        "对照表（`对照 x { \"A\": 1 }`）",
    ),
    e(
        "",
        "a table entry (`\"AAA\": 10`)",
        "对照表的一项（`\"AAA\": 10`）",
    ),
    e("", "a number or a constant name", "数或常量名"),
    e(
        "",
        "a record query (`count(records where …)`)",
        "记录查询（`计数(记录 满足 …)`）",
    ),
    e(
        "",
        "`count`, `count distinct`, `any`, `none`, `sum`, `max`, `min` or `latest`",
        "计数、计数 不同、存在、不存在、合计、最大、最小或最近",
    ),
    e("", "`count distinct` / `计数 不同`", "`计数 不同`"),
    e("", "`distinct` / `不同`", "`不同`"),
    e("", "count distinct", "计数 不同"),
    e("", "a list (`[a, b]`)", "列表（`[甲, 乙]`）"),
    e("", "a date (YYYY-MM-DD)", "日期（YYYY-MM-DD）"),
    e(
        "",
        "a duration (`3 years`, `近 3 年`)",
        "期限（如 `近 3 年`）",
    ),
    e(
        "",
        "`years`, `months` or `days` (年, 个月, 日)",
        "单位“年”“个月”或“日”",
    ),
    e("", "a whole number", "整数"),
    e("", "a quoted text (`\"…\"`)", "带引号的文字（`\"…\"`）"),
    e("", "text", "文字"),
    e("", "a name", "名称"),
    e("", "a clause id", "条款编号"),
    e("", "a rule-set id", "规则集编号"),
    e(
        "",
        "a rule-set id (`city.base`)",
        "规则集编号（如 `city.base`）",
    ),
    e("", "a letter", "字母或汉字"),
    e("", "a letter or digit", "字母、汉字或数字"),
    e("", "a keyword", "关键字"),
    e("", "the end of the file", "文件结尾"),
];

#[cfg(test)]
mod tests {
    use super::{HINTS, MESSAGES, SUMMARIES};
    use std::path::Path;

    /// Every `"E0000"`-like code literal in the sources.
    fn codes_in_sources() -> Vec<(String, String)> {
        let mut found = Vec::new();
        let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().and_then(|e| e.to_str()) != Some("rs")
                    || path.ends_with("diagnostic/catalog.rs")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("a source file is readable");
                let bytes = text.as_bytes();
                for i in 0..bytes.len().saturating_sub(6) {
                    let quoted = bytes[i] == b'"' && bytes[i + 6] == b'"';
                    if quoted
                        && matches!(bytes[i + 1], b'E' | b'W' | b'T')
                        && bytes[i + 2..i + 6].iter().all(u8::is_ascii_digit)
                    {
                        found.push((text[i + 1..i + 6].to_string(), path.display().to_string()));
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_code_raised_has_chinese_text() {
        let missing: Vec<_> = codes_in_sources()
            .into_iter()
            .filter(|(code, _)| !SUMMARIES.iter().any(|(c, _)| c == code))
            .collect();
        assert!(
            missing.is_empty(),
            "codes without a Chinese summary in src/diagnostic/catalog.rs: {missing:?}"
        );
    }

    #[test]
    fn the_authoring_guide_lists_every_code_in_both_languages() {
        let guide = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/authoring-guide.md"),
        )
        .expect("the guide is readable");
        for (code, _) in SUMMARIES {
            let row = guide
                .lines()
                .find(|l| l.starts_with(&format!("| {code} |")))
                .unwrap_or_else(|| panic!("docs/authoring-guide.md §13 does not list {code}"));
            let cells = row.split(" | ").count();
            assert!(
                cells >= 4,
                "{code}: the row needs English, Chinese and the fix: {row}"
            );
            assert!(
                row.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{code}: no Chinese in {row}"
            );
        }
    }

    #[test]
    fn every_template_names_a_known_code_and_keeps_its_parts() {
        for entry in MESSAGES.iter().chain(HINTS) {
            assert!(
                entry.code == "*" || SUMMARIES.iter().any(|(c, _)| *c == entry.code),
                "{} has no summary",
                entry.code
            );
            let parts = entry.en.matches("{}").count();
            for i in 0..parts {
                assert!(
                    entry.zh.contains(&format!("{{{i}}}")),
                    "the Chinese of `{}` drops part {i}",
                    entry.en
                );
            }
        }
    }
}
