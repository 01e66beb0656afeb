"""Our own Vietnamese writing for the near-duplicate evaluation set.

``BASES`` are articles that get edited copies; each has a ``SAME_TOPIC`` twin:
the same names, places and institutions, but a different event, which must
never be linked to it. Written for this project (not copied from any site).
"""

BASES = {
    "cau_rach_mieu": """Sáng 12-3, Ủy ban nhân dân tỉnh Tiền Giang tổ chức lễ khởi công xây dựng cầu Rạch Miễu 2 nối thành phố Mỹ Tho với huyện Châu Thành của tỉnh Bến Tre. Dự lễ có ông Nguyễn Văn Thắng, Chủ tịch Ủy ban nhân dân tỉnh Tiền Giang, cùng đại diện Bộ Giao thông vận tải và lãnh đạo tỉnh Bến Tre.
Cây cầu dài hơn 3,3 km, có bốn làn xe, được thiết kế theo dạng cầu dây văng với nhịp chính dài 270 mét. Tổng vốn đầu tư khoảng 5.100 tỷ đồng, lấy từ ngân sách trung ương và ngân sách của hai tỉnh.
Theo chủ đầu tư, công trình sẽ hoàn thành sau ba năm thi công. Khi đưa vào sử dụng, cầu giúp giảm tải cho cầu Rạch Miễu hiện hữu, vốn thường xuyên ùn tắc vào dịp lễ, Tết.
Phát biểu tại buổi lễ, ông Nguyễn Văn Thắng yêu cầu nhà thầu bảo đảm an toàn lao động, chất lượng công trình và đúng tiến độ. Ông cũng đề nghị chính quyền địa phương làm tốt công tác giải phóng mặt bằng, hỗ trợ người dân bị ảnh hưởng ổn định cuộc sống.
Người dân hai bên bờ sông Tiền bày tỏ vui mừng khi dự án được khởi công. Nhiều hộ kinh doanh cho biết cây cầu mới sẽ mở ra cơ hội phát triển du lịch và vận chuyển nông sản.
Trước đó, dự án đã được Thủ tướng Chính phủ phê duyệt chủ trương đầu tư vào năm ngoái sau nhiều năm chờ đợi nguồn vốn.""",
    "mua_lu_hue": """Từ đêm 27-10 đến sáng 28-10, mưa lớn kéo dài khiến nước sông Hương và sông Bồ dâng cao, nhiều khu dân cư tại thành phố Huế bị ngập sâu. Trung tâm Khí tượng thủy văn tỉnh Thừa Thiên Huế cho biết lượng mưa tại một số nơi vượt 400 mm.
Tại phường Kim Long và phường Phú Hậu, nước ngập từ 0,5 đến 1 mét, hàng trăm hộ dân phải di chuyển đồ đạc lên cao. Lực lượng quân đội và công an đã hỗ trợ đưa người già, trẻ em đến nơi an toàn.
Ông Phan Thiên Định, Phó Chủ tịch Ủy ban nhân dân tỉnh, đã đi kiểm tra các điểm xung yếu và chỉ đạo các địa phương không để người dân thiếu đói. Các trường học trên địa bàn cho học sinh nghỉ học trong hai ngày.
Nhiều tuyến đường như Lê Duẩn, Kim Long bị chia cắt, các phương tiện không thể lưu thông. Công ty điện lực đã cắt điện một số khu vực để bảo đảm an toàn cho người dân.
Theo dự báo, mưa sẽ giảm dần từ ngày 29-10, tuy nhiên người dân vùng thấp trũng cần tiếp tục đề phòng sạt lở đất và lũ quét.""",
    "hoi_sach_hn": """Ngày 20-4, Hội sách Hà Nội lần thứ nhất khai mạc tại Công viên Thống Nhất với sự tham gia của hơn 60 nhà xuất bản và công ty sách trên cả nước. Hội sách kéo dài năm ngày, mở cửa miễn phí cho người dân từ 8 giờ sáng đến 10 giờ tối.
Bà Trần Thị Hương, Giám đốc Sở Thông tin và Truyền thông Hà Nội, cho biết hội sách nhằm khuyến khích thói quen đọc, nhất là trong giới trẻ. Ban tổ chức dành một khu riêng cho sách thiếu nhi và các buổi đọc truyện cho các em nhỏ.
Nhiều nhà văn nổi tiếng sẽ giao lưu, ký tặng sách cho bạn đọc. Các đơn vị phát hành giảm giá từ 20 đến 50 phần trăm cho nhiều đầu sách văn học, lịch sử và khoa học.
Trong ngày khai mạc, hàng nghìn lượt khách đã đến tham quan. Chị Nguyễn Thu Trang, một nhân viên văn phòng ở quận Đống Đa, cho biết chị mua được nhiều cuốn sách hay với giá rẻ cho con.
Ban tổ chức dự kiến hội sách sẽ được tổ chức thường niên và mở rộng quy mô trong những năm tới.""",
}

SAME_TOPIC = {
    "cau_rach_mieu": """Chiều 5-9, ông Nguyễn Văn Thắng, Chủ tịch Ủy ban nhân dân tỉnh Tiền Giang, đã kiểm tra tiến độ thi công cầu Rạch Miễu 2 và làm việc với các nhà thầu về những vướng mắc trong giải phóng mặt bằng tại huyện Châu Thành.
Báo cáo tại buổi làm việc cho thấy sản lượng thi công mới đạt khoảng 40 phần trăm kế hoạch năm. Nguyên nhân chủ yếu là giá vật liệu tăng và một số hộ dân chưa đồng ý với mức bồi thường.
Ông Nguyễn Văn Thắng yêu cầu các sở ngành phối hợp với tỉnh Bến Tre tháo gỡ khó khăn, công khai phương án bồi thường, đối thoại trực tiếp với người dân. Nhà thầu được đề nghị tăng ca, bổ sung máy móc để bù lại thời gian chậm trễ.
Đại diện Bộ Giao thông vận tải cho biết bộ sẽ cử cán bộ giám sát chất lượng thường xuyên tại công trường. Mỹ Tho và Bến Tre đều kỳ vọng cây cầu sẽ thông xe đúng hẹn.""",
    "mua_lu_hue": """Sáng 3-11, Ủy ban nhân dân tỉnh Thừa Thiên Huế tổ chức hội nghị tổng kết công tác phòng chống thiên tai năm nay và triển khai kế hoạch cho mùa mưa bão năm sau. Ông Phan Thiên Định, Phó Chủ tịch Ủy ban nhân dân tỉnh, chủ trì hội nghị.
Theo báo cáo, trong năm tỉnh chịu ảnh hưởng của bốn đợt mưa lớn, thiệt hại ước tính hơn 300 tỷ đồng. Các phường Kim Long, Phú Hậu và nhiều xã ven sông Hương, sông Bồ là những nơi bị ảnh hưởng nặng nhất.
Hội nghị đề xuất nâng cấp hệ thống cảnh báo lũ sớm, nạo vét các tuyến kênh thoát nước và xây dựng thêm nhà tránh lũ cộng đồng. Trung tâm Khí tượng thủy văn tỉnh sẽ lắp đặt thêm 20 trạm đo mưa tự động.
Ông Phan Thiên Định biểu dương lực lượng quân đội, công an và các tình nguyện viên đã không quản ngày đêm giúp người dân vượt qua khó khăn trong các đợt lũ vừa qua.""",
    "hoi_sach_hn": """Tối 25-4, Hội sách Hà Nội lần thứ nhất bế mạc tại Công viên Thống Nhất. Theo ban tổ chức, sau năm ngày diễn ra, hội sách đã đón khoảng 300.000 lượt khách và bán ra hơn 150.000 bản sách.
Bà Trần Thị Hương, Giám đốc Sở Thông tin và Truyền thông Hà Nội, trao giấy khen cho 15 nhà xuất bản và công ty sách có gian hàng ấn tượng. Bà cho biết thành phố sẽ nghiên cứu tổ chức thêm các phiên chợ sách cũ tại các quận.
Nhiều bạn đọc bày tỏ tiếc nuối khi hội sách khép lại. Anh Lê Minh Tuấn ở quận Đống Đa cho rằng thời gian năm ngày là quá ngắn và mong năm sau hội sách kéo dài hơn.
Các nhà xuất bản cũng kiến nghị ban tổ chức bố trí thêm chỗ để xe và khu nghỉ chân cho người cao tuổi.""",
}

# Whole-word substitutions, as a plagiarism-dodging rewriter makes them.
SYNONYMS = {
    "tổ chức": "tiến hành", "triển khai": "thực hiện", "lãnh đạo": "chỉ đạo", "nhiệm vụ": "công việc",
    "bảo đảm": "đảm bảo", "nâng cao": "tăng cường", "đơn vị": "cơ quan", "công tác": "hoạt động",
    "cho biết": "thông tin", "người dân": "bà con", "khó khăn": "trở ngại", "kết quả": "thành quả",
    "phát triển": "tăng trưởng", "thực hiện": "tiến hành", "tham gia": "góp mặt", "kiểm tra": "rà soát",
    "quan trọng": "trọng yếu", "hoàn thành": "làm xong", "xây dựng": "kiến tạo", "chủ động": "tích cực",
    "hiệu quả": "hữu hiệu", "sử dụng": "dùng", "khu vực": "vùng", "địa phương": "cơ sở", "đồng chí": "ông",
    "năm": "niên", "các": "những", "nhiều": "lắm", "được": "đã được", "cùng": "với", "và": "cùng",
    "tốt": "hay", "lớn": "to", "mới": "vừa", "đã": "vừa", "sẽ": "sắp", "của": "thuộc", "trong": "ở",
    "cao": "lớn", "rất": "hết sức", "nhằm": "để", "tại": "ở", "cũng": "đồng thời", "đến": "tới",
}

# Syllables a rewriter puts in when it has no synonym at hand.
FILLERS = (
    "việc", "sự", "điều", "nội dung", "vấn đề", "chính", "cơ bản", "chung", "nhất", "thêm", "nữa",
    "hơn", "luôn", "đều", "vẫn", "thật", "vô cùng", "khá", "chắc chắn", "nhanh chóng",
)

# Lines sites add around a copied article.
BOILERPLATE = (
    "Rate this post",
    "Chia sẻ bài viết qua Facebook, Zalo",
    "Xem thêm: Tin tức mới nhất trong ngày được cập nhật liên tục",
    "Theo dõi chúng tôi trên Google News để nhận tin nhanh nhất",
    "Bài viết liên quan",
    "Bản quyền thuộc về trang tin tổng hợp. Ghi rõ nguồn khi phát hành lại thông tin từ website này.",
)

# New leads a republisher writes in place of the original one.
LEADS = (
    "Theo thông tin mới nhất mà phóng viên ghi nhận được, sự việc dưới đây đang thu hút sự quan tâm lớn của dư luận.",
    "Đây là một trong những tin tức nổi bật được nhiều độc giả theo dõi trong những ngày gần đây.",
    "Như tin đã đưa trước đó, sự kiện này nhận được nhiều phản hồi từ bạn đọc khắp cả nước.",
)
